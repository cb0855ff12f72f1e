import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderConfig, RouteConfig } from '@gateway/config';
import type { ChatRequest, ChatResult } from '../chat.types';
import type { ProviderError } from '../provider.error';
import type { WireRequest } from './wire';

/**
 * The port every HTTP provider implements: pure translation, no I/O and no state (STYLE §6). The
 * transport does the call; the router does retries and fallback.
 */
export interface ChatAdapter {
  /** Unified request → the provider's chat request. */
  chatRequest(provider: ProviderConfig, route: RouteConfig, request: ChatRequest): WireRequest;
  /** A 2xx body → the unified result; throws ProviderError(`invalid_response`) when it is unusable. */
  parseChat(body: string, route: RouteConfig): ChatResult;
  /** A non-2xx answer → the typed error (never the raw body). */
  parseError(
    status: number,
    headers: IncomingHttpHeaders,
    body: string,
    provider: ProviderConfig,
  ): ProviderError;
  /** The cheap health probe (the models endpoint by default). */
  healthRequest(provider: ProviderConfig, path: string): WireRequest;
}
