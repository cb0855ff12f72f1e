import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderConfig, RouteConfig } from '@gateway/config';
import type { EmbeddingRequest, EmbeddingResult } from '@gateway/types';
import type { ProviderError } from '../provider.error';
import type { WireRequest } from './wire';

/**
 * The port every HTTP embedding provider implements: pure translation, no I/O and no state, like
 * ChatAdapter. The transport does the call; the router does retries and fallback.
 */
export interface EmbeddingAdapter {
  /** Unified request → the provider's embeddings request. */
  embeddingRequest(
    provider: ProviderConfig,
    route: RouteConfig,
    request: EmbeddingRequest,
  ): WireRequest;
  /**
   * A 2xx body → the unified result, checked against the request (one vector per input, the
   * requested length); throws ProviderError(`invalid_response`) when it is unusable.
   */
  parseEmbeddings(body: string, route: RouteConfig, request: EmbeddingRequest): EmbeddingResult;
  /** A non-2xx answer → the typed error (never the raw body). */
  parseError(
    status: number,
    headers: IncomingHttpHeaders,
    body: string,
    provider: ProviderConfig,
  ): ProviderError;
}
