import { Reflector } from '@nestjs/core';

/**
 * The query parameters a handler (or every handler of a controller) accepts, e.g.
 * `@QueryParams(['days'])`. A route without it accepts none (the tenancy lib's StrictQueryGuard
 * enforces it with `checkQuery`).
 */
export const QueryParams = Reflector.createDecorator<readonly string[]>();
