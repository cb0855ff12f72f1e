import { createHash } from 'node:crypto';
import type { TenantContext } from '@gateway/context';
import type { ChatRequest } from '@gateway/providers';
import { canonicalJson } from './canonical-json';
import type { CacheKey } from './cache.types';

/**
 * The request parameters that do NOT change the answer, and so stay out of the key. Everything
 * else counts, including any parameter added to ChatRequest later: forgetting to list a new one
 * here costs hit rate, never correctness.
 */
export const NON_KEY_PARAMS: ReadonlySet<string> = new Set<keyof ChatRequest>(['user']);

/** Bumped when the key's composition changes, so old entries are simply never read again. */
const KEY_VERSION = 1;

/**
 * The one builder of cache keys (STYLE §5). The key is the tenant, the model alias the client asked
 * for and every output-affecting parameter; never the provider, so an answer from a fallback route
 * serves the same prompt next time.
 */
export class CacheKeyBuilder {
  build(tenant: TenantContext, modelAlias: string, request: ChatRequest): CacheKey {
    if (!tenant?.tenantId) throw new Error('CacheKeyBuilder: a tenant is required');
    if (!modelAlias) throw new Error('CacheKeyBuilder: a model alias is required');
    const params: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(request)) {
      // An absent parameter and an explicit null both mean "the provider's default".
      if (NON_KEY_PARAMS.has(name) || value === null || value === undefined) continue;
      params[name] = value;
    }
    const material = canonicalJson({
      v: KEY_VERSION,
      tenant: tenant.tenantId,
      model: modelAlias,
      params,
    });
    const digest = createHash('sha256').update(material).digest('hex');
    return { tenantId: tenant.tenantId, digest } as CacheKey;
  }
}
