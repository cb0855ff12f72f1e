import {
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiUnauthorizedResponse,
  type DocumentBuilder,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { type AdminContext, requestContext, type TenantContext } from '@gateway/context';
import { AdminAuthGuard } from './admin-auth.guard';
import { TenantAuthGuard } from './tenant-auth.guard';

/** OpenAPI security scheme names; register them with `addTenancySecuritySchemes`. */
export const TENANT_KEY_SCHEME = 'tenant-key';
export const TENANT_BEARER_SCHEME = 'bearer';
export const ADMIN_KEY_SCHEME = 'admin-key';

export type RouteKindValue = 'tenant' | 'admin';

/** Marks a handler or controller as a tenant or admin route (`reflector.get(RouteKind, handler)`). */
export const RouteKind = Reflector.createDecorator<RouteKindValue>();

/** A route called with a tenant key (`X-API-Key` or `Authorization: Bearer`). */
export function TenantRoute(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    RouteKind('tenant'),
    UseGuards(TenantAuthGuard),
    ApiSecurity(TENANT_KEY_SCHEME),
    ApiBearerAuth(TENANT_BEARER_SCHEME),
    ApiUnauthorizedResponse({ description: 'Missing, unknown or revoked key (invalid_api_key).' }),
    ApiForbiddenResponse({ description: 'Admin key (wrong_key_scope) or disabled tenant.' }),
  );
}

/** A route called with the bootstrap ADMIN_API_KEY or an admin key, in `X-API-Key`. */
export function AdminRoute(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    RouteKind('admin'),
    UseGuards(AdminAuthGuard),
    ApiSecurity(ADMIN_KEY_SCHEME),
    ApiUnauthorizedResponse({ description: 'Missing, unknown or revoked key (invalid_api_key).' }),
    ApiForbiddenResponse({ description: 'A tenant key (wrong_key_scope).' }),
  );
}

/** The authenticated tenant of a `@TenantRoute()` handler. */
export const CurrentTenant = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): TenantContext => {
    const tenant = requestContext(ctx.switchToHttp().getRequest<Request>()).tenant;
    if (!tenant) throw new Error('@CurrentTenant() needs @TenantRoute() on the handler');
    return tenant;
  },
);

/** The authenticated admin of an `@AdminRoute()` handler. */
export const CurrentAdmin = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AdminContext => {
    const admin = requestContext(ctx.switchToHttp().getRequest<Request>()).admin;
    if (!admin) throw new Error('@CurrentAdmin() needs @AdminRoute() on the handler');
    return admin;
  },
);

/** Adds the schemes the route decorators reference to the app's OpenAPI document. */
export function addTenancySecuritySchemes(builder: DocumentBuilder): DocumentBuilder {
  return builder
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Tenant key (llm-gw-…)' },
      TENANT_KEY_SCHEME,
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'Tenant key as a bearer token (OpenAI SDK)' },
      TENANT_BEARER_SCHEME,
    )
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description: 'ADMIN_API_KEY or an admin key',
      },
      ADMIN_KEY_SCHEME,
    );
}
