import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { type RequestContext, requestContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import type { ApiKeyAuthenticator, KeyResolution } from './api-key-authenticator.service';
import { presentedKey } from './presented-key';

export function invalidKey(): GatewayError {
  return new GatewayError('invalid_api_key', 'Missing or invalid API key.');
}

/**
 * The part both guards share: resolve the presented key (synchronously when it is warm), refuse
 * a missing or unknown one, let `admit` check the scope and fill the context, and only then
 * raise a deferred body-parser error, so a malformed request is refused (and audited) under the
 * identity it authenticated as. Body-parser errors (plain objects with `type`) are mapped to
 * 400/413 by the exception filter.
 */
export function authenticate(
  auth: ApiKeyAuthenticator,
  context: ExecutionContext,
  admit: (ctx: RequestContext, resolution: Exclude<KeyResolution, { kind: 'invalid' }>) => void,
): boolean | Promise<boolean> {
  const req = context.switchToHttp().getRequest<Request>();
  const key = presentedKey(req);
  if (key === null) throw invalidKey();
  const finish = (r: KeyResolution): boolean => {
    if (r.kind === 'invalid') throw invalidKey();
    const ctx = requestContext(req);
    admit(ctx, r);
    if (ctx.bodyError != null) throw ctx.bodyError as Error;
    return true;
  };
  const resolution = auth.resolve(key);
  return resolution instanceof Promise ? resolution.then(finish) : finish(resolution);
}
