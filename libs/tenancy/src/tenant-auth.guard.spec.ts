import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { attachRequestContext, requestContext, type TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { AdminAuthGuard } from './admin-auth.guard';
import type { ApiKeyAuthenticator, KeyResolution } from './api-key-authenticator.service';
import { TenantAuthGuard } from './tenant-auth.guard';

const TENANT = { tenantId: 't-1', apiKeyId: 'k-1', name: 'acme' } as unknown as TenantContext;
const KEYS: Record<string, KeyResolution> = {
  'tenant-key': { kind: 'tenant', tenant: TENANT, disabled: false },
  'disabled-key': { kind: 'tenant', tenant: TENANT, disabled: true },
  'admin-key': { kind: 'admin', admin: { adminKeyId: 'bootstrap' } },
  'slow-tenant-key': { kind: 'tenant', tenant: TENANT, disabled: false },
};

/** Resolves from a table; `slow-` keys answer asynchronously like a cache miss. */
const authenticator = {
  resolve: (key: string) => {
    const r = KEYS[key] ?? { kind: 'invalid' };
    return key.startsWith('slow-') ? Promise.resolve(r) : r;
  },
} as unknown as ApiKeyAuthenticator;

function request(headers: Record<string, string>): Request {
  const req = { headers, path: '/x' } as unknown as Request;
  attachRequestContext(req, 'req-1', '/x');
  return req;
}

function http(req: Request): ExecutionContext {
  return { switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
}

async function run(
  guard: { canActivate(c: ExecutionContext): boolean | Promise<boolean> },
  req: Request,
) {
  try {
    return await guard.canActivate(http(req));
  } catch (err) {
    return err as GatewayError;
  }
}

describe('TenantAuthGuard', () => {
  const guard = new TenantAuthGuard(authenticator);

  it('accepts the key from X-API-Key and from Authorization: Bearer', async () => {
    const a = request({ 'x-api-key': 'tenant-key' });
    expect(await run(guard, a)).toBe(true);
    expect(requestContext(a).tenant).toBe(TENANT);
    const b = request({ authorization: 'Bearer tenant-key' });
    expect(await run(guard, b)).toBe(true);
    expect(requestContext(b).tenant).toBe(TENANT);
    const c = request({ authorization: 'bearer  slow-tenant-key' });
    expect(await run(guard, c)).toBe(true);
  });

  it('is synchronous on a warm key', () => {
    expect(guard.canActivate(http(request({ 'x-api-key': 'tenant-key' })))).toBe(true);
  });

  it.each<[Record<string, string>, string]>([
    [{}, 'missing'],
    [{ 'x-api-key': '' }, 'empty'],
    [{ 'x-api-key': 'unknown' }, 'unknown'],
    [{ authorization: 'Basic dGVuYW50LWtleQ==' }, 'not a bearer'],
    [{ authorization: 'Bearer' }, 'bearer without a key'],
    [{ 'x-api-key': 'x'.repeat(600) }, 'absurdly long'],
  ])('refuses a %s key (%s) with invalid_api_key and no tenant', async (headers) => {
    const req = request(headers);
    const err = await run(guard, req);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('invalid_api_key');
    expect(requestContext(req).tenant).toBeNull();
  });

  it('refuses an admin key with wrong_key_scope', async () => {
    const err = await run(guard, request({ 'x-api-key': 'admin-key' }));
    expect((err as GatewayError).code).toBe('wrong_key_scope');
    expect((err as GatewayError).status).toBe(403);
  });

  it('sets the tenant before refusing a disabled tenant, so the refusal is audited', async () => {
    const req = request({ 'x-api-key': 'disabled-key' });
    const err = await run(guard, req);
    expect((err as GatewayError).code).toBe('tenant_disabled');
    expect(requestContext(req).tenant).toBe(TENANT);
  });

  it('raises a deferred body error only after authentication', async () => {
    const bodyError = { type: 'entity.parse.failed', status: 400 };
    const anonymous = request({});
    requestContext(anonymous).bodyError = bodyError;
    expect(((await run(guard, anonymous)) as GatewayError).code).toBe('invalid_api_key');

    const req = request({ 'x-api-key': 'slow-tenant-key' });
    requestContext(req).bodyError = bodyError;
    expect(await run(guard, req)).toBe(bodyError);
    expect(requestContext(req).tenant).toBe(TENANT);
  });
});

describe('AdminAuthGuard', () => {
  const guard = new AdminAuthGuard(authenticator);

  it('accepts an admin key and records the admin', async () => {
    const req = request({ 'x-api-key': 'admin-key' });
    expect(await run(guard, req)).toBe(true);
    expect(requestContext(req).admin).toEqual({ adminKeyId: 'bootstrap' });
  });

  it('refuses a tenant key with 403 wrong_key_scope without marking the request as a tenant’s', async () => {
    for (const key of ['tenant-key', 'disabled-key', 'slow-tenant-key']) {
      const req = request({ 'x-api-key': key });
      const err = await run(guard, req);
      expect((err as GatewayError).code).toBe('wrong_key_scope');
      expect(requestContext(req).tenant).toBeNull();
    }
  });

  it('refuses missing and unknown keys with invalid_api_key', async () => {
    expect(((await run(guard, request({}))) as GatewayError).code).toBe('invalid_api_key');
    const unknown = request({ 'x-api-key': 'nope' });
    expect(((await run(guard, unknown)) as GatewayError).code).toBe('invalid_api_key');
  });

  it('raises a deferred body error after authentication', async () => {
    const req = request({ 'x-api-key': 'admin-key' });
    const bodyError = { type: 'entity.too.large', status: 413 };
    requestContext(req).bodyError = bodyError;
    expect(await run(guard, req)).toBe(bodyError);
  });
});
