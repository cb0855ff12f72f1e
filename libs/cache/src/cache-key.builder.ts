import { createHash } from 'node:crypto';
import type { TenantContext } from '@gateway/context';
import type { ChatRequest, EmbeddingRequest } from '@gateway/types';
import { canonicalJson } from './canonical-json';
import type { AnswerCodec, CacheKey, EmbeddingAnswer } from './cache.types';
import { CachedAnswerCodec } from './cached-answer.codec';
import { EmbeddingAnswerCodec } from './embedding-answer.codec';

/**
 * The request parameters that do NOT change the answer, and so stay out of the key. Everything
 * else counts, including any parameter added to ChatRequest later: forgetting to list a new one
 * here costs hit rate, never correctness.
 */
export const NON_KEY_PARAMS: ReadonlySet<string> = new Set<keyof ChatRequest>(['user']);

/** Bumped when the key's composition changes, so old entries are simply never read again. */
const KEY_VERSION = 1;

/** How the client wants its vectors; part of an embeddings key (it changes the response body). */
export type EmbeddingEncoding = 'float' | 'base64';

const CHAT_CODEC = new CachedAnswerCodec();
const EMBEDDING_CODEC = new EmbeddingAnswerCodec();

/**
 * The one builder of cache keys. The key is the tenant, the model alias the client asked
 * for and every output-affecting parameter; never the provider, so an answer from a fallback route
 * serves the same prompt next time.
 */
export class CacheKeyBuilder {
  build(tenant: TenantContext, modelAlias: string, request: ChatRequest): CacheKey {
    return this.digest(tenant, modelAlias, null, outputParams(request), CHAT_CODEC);
  }

  /**
   * An embeddings request's key: the same rules (every parameter but `user`, including the
   * encoding the client asked for), marked as embeddings so it can never equal a chat key.
   */
  buildEmbeddings(
    tenant: TenantContext,
    modelAlias: string,
    request: EmbeddingRequest,
    encoding: EmbeddingEncoding,
  ): CacheKey<EmbeddingAnswer> {
    const params = { ...outputParams(request), encoding_format: encoding };
    return this.digest(tenant, modelAlias, 'embeddings', params, EMBEDDING_CODEC);
  }

  private digest<A>(
    tenant: TenantContext,
    modelAlias: string,
    operation: 'embeddings' | null,
    params: Record<string, unknown>,
    codec: AnswerCodec<A>,
  ): CacheKey<A> {
    if (!tenant?.tenantId) throw new Error('CacheKeyBuilder: a tenant is required');
    if (!modelAlias) throw new Error('CacheKeyBuilder: a model alias is required');
    const material = canonicalJson({
      v: KEY_VERSION,
      // Absent for chat, so chat keys are what they were before embeddings existed.
      op: operation ?? undefined,
      tenant: tenant.tenantId,
      model: modelAlias,
      params,
    });
    const digest = createHash('sha256').update(material).digest('hex');
    return { tenantId: tenant.tenantId, digest, codec } as CacheKey<A>;
  }
}

/** The request's parameters that count: not `user`, not absent or null ones. */
function outputParams(request: object): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(request)) {
    // An absent parameter and an explicit null both mean "the provider's default".
    if (NON_KEY_PARAMS.has(name) || value === null || value === undefined) continue;
    params[name] = value;
  }
  return params;
}
