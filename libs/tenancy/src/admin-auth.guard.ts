import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { GatewayError } from '@gateway/errors';
import { ApiKeyAuthenticator } from './api-key-authenticator.service';
import { authenticate } from './key-auth';

/** Admin routes: the bootstrap ADMIN_API_KEY or an admin key; a tenant key gets 403. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(private readonly auth: ApiKeyAuthenticator) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    return authenticate(this.auth, context.switchToHttp().getRequest<Request>(), (ctx, r) => {
      // A tenant key here is refused without setting ctx.tenant: admin calls are not in the audit log.
      if (r.kind === 'tenant') {
        throw new GatewayError('wrong_key_scope', 'A tenant key cannot call admin routes.');
      }
      ctx.admin = r.admin;
    });
  }
}
