import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { requestContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { ApiKeyAuthenticator, type KeyResolution } from './api-key-authenticator.service';
import { presentedKey } from './presented-key';

/**
 * Tenant routes: the tenant comes from the key only (never a header or body). The context is set
 * before refusing a disabled tenant so that refusal is audited; a deferred body-parser error is
 * raised only after authentication for the same reason.
 */
@Injectable()
export class TenantAuthGuard implements CanActivate {
  constructor(private readonly auth: ApiKeyAuthenticator) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const key = presentedKey(req);
    if (key === null) throw invalidKey();
    const resolution = this.auth.resolve(key);
    return resolution instanceof Promise
      ? resolution.then((r) => admitTenant(req, r))
      : admitTenant(req, resolution);
  }
}

function admitTenant(req: Request, r: KeyResolution): boolean {
  if (r.kind === 'invalid') throw invalidKey();
  if (r.kind === 'admin') {
    throw new GatewayError('wrong_key_scope', 'An admin key cannot call tenant routes.');
  }
  const ctx = requestContext(req);
  ctx.tenant = r.tenant;
  if (r.disabled) throw new GatewayError('tenant_disabled', 'This tenant is disabled.');
  // Body-parser errors (plain objects with `type`) are mapped to 400/413 by the filter.
  if (ctx.bodyError != null) throw ctx.bodyError as Error;
  return true;
}

export function invalidKey(): GatewayError {
  return new GatewayError('invalid_api_key', 'Missing or invalid API key.');
}
