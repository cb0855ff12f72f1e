import type { TenantContext } from '@gateway/context';

/** Properties test tooling probes on any object (printing, promise detection): not calls. */
const PROBES = new Set([
  'then',
  'asymmetricMatch',
  '$$typeof',
  'nodeType',
  'toJSON',
  'constructor',
]);

/**
 * A collaborator fake that fails on anything not stubbed: a part touching a collaborator it was
 * not expected to touch fails its test instead of getting `undefined` back.
 */
export function strictFake<T extends object>(name: string, stubs: Partial<T>): T {
  return new Proxy(stubs as T, {
    get(target, prop, receiver) {
      if (typeof prop === 'symbol' || prop in target) return Reflect.get(target, prop, receiver);
      if (PROBES.has(prop)) return undefined;
      throw new Error(`${name}.${prop} was used but not stubbed`);
    },
  });
}

export function tenant(overrides: Partial<TenantContext> = {}): TenantContext {
  return {
    tenantId: '00000000-0000-4000-8000-000000000001',
    apiKeyId: '00000000-0000-4000-8000-000000000002',
    name: 'unit',
    rateLimit: 10,
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
