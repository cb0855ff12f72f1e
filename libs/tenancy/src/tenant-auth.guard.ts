import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ApiKeyAuthenticator } from './api-key-authenticator.service';
import { admitTenant, authenticate } from './key-auth';

/**
 * Tenant routes: the tenant comes from the key only (never a header or body). The context is set
 * before refusing a disabled tenant so that refusal is audited; a deferred body-parser error is
 * raised only after authentication for the same reason.
 */
@Injectable()
export class TenantAuthGuard implements CanActivate {
  constructor(private readonly auth: ApiKeyAuthenticator) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    return authenticate(this.auth, context.switchToHttp().getRequest<Request>(), admitTenant);
  }
}
