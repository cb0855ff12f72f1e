import { randomUUID } from 'node:crypto';
import type { TenantContext } from '@gateway/context';

/**
 * A tenant context as the auth guard builds it, for tests that drive a facade directly (no HTTP,
 * no tenant row unless the test inserts one). Fresh ids each call: each test makes its own tenants.
 */
export function tenantContext(overrides: Partial<TenantContext> = {}): TenantContext {
  return {
    tenantId: randomUUID(),
    apiKeyId: randomUUID(),
    name: 'test-tenant',
    rateLimit: 1000,
    tokensPerMinute: null,
    monthlyBudget: null,
    providerPreferences: [],
    allowedModels: null,
    cacheTtlSeconds: null,
    alertThresholds: [0.5, 0.8, 1],
    alertWebhookUrl: null,
    alertWebhookSecret: null,
    version: 1,
    ...overrides,
  };
}
