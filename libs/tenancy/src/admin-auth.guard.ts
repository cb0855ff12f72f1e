import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { requestContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { ApiKeyAuthenticator, type KeyResolution } from './api-key-authenticator.service';
import { presentedKey } from './presented-key';
import { invalidKey } from './tenant-auth.guard';

/** Admin routes: the bootstrap ADMIN_API_KEY or an admin key; a tenant key gets 403. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(private readonly auth: ApiKeyAuthenticator) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const key = presentedKey(req);
    if (key === null) throw invalidKey();
    const resolution = this.auth.resolve(key);
    return resolution instanceof Promise
      ? resolution.then((r) => admitAdmin(req, r))
      : admitAdmin(req, resolution);
  }
}

function admitAdmin(req: Request, r: KeyResolution): boolean {
  if (r.kind === 'invalid') throw invalidKey();
  // A tenant key here is refused without setting ctx.tenant: admin calls are not in the audit log.
  if (r.kind === 'tenant') {
    throw new GatewayError('wrong_key_scope', 'A tenant key cannot call admin routes.');
  }
  const ctx = requestContext(req);
  ctx.admin = r.admin;
  // Body-parser errors (plain objects with `type`) are mapped to 400/413 by the filter.
  if (ctx.bodyError != null) throw ctx.bodyError as Error;
  return true;
}
