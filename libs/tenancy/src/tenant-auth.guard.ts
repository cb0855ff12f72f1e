import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { GatewayError } from '@gateway/errors';
import { ApiKeyAuthenticator } from './api-key-authenticator.service';
import { authenticate } from './key-auth';

/**
 * Tenant routes: the tenant comes from the key only (never a header or body). The context is set
 * before refusing a disabled tenant so that refusal is audited; a deferred body-parser error is
 * raised only after authentication for the same reason.
 */
@Injectable()
export class TenantAuthGuard implements CanActivate {
  constructor(private readonly auth: ApiKeyAuthenticator) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    return authenticate(this.auth, context, (ctx, r) => {
      if (r.kind === 'admin') {
        throw new GatewayError('wrong_key_scope', 'An admin key cannot call tenant routes.');
      }
      ctx.tenant = r.tenant;
      if (r.disabled) throw new GatewayError('tenant_disabled', 'This tenant is disabled.');
    });
  }
}
