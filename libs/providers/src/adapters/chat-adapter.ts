import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderConfig, RouteConfig } from '@gateway/config';
import type { ChatRequest, ChatResult, ChatStreamEvent } from '@gateway/types';
import type { ProviderError } from '../provider.error';
import type { SseEvent } from './sse.parser';
import type { WireRequest } from './wire';

/**
 * The port every HTTP provider implements: pure translation, no I/O and no state. The
 * transport does the call; the router does retries and fallback.
 */
export interface ChatAdapter {
  /**
   * Unified request → the provider's chat request; with `stream`, the streaming variant, which
   * always asks the provider for the exact usage (the gateway bills it whatever the client asked).
   */
  chatRequest(
    provider: ProviderConfig,
    route: RouteConfig,
    request: ChatRequest,
    stream?: boolean,
  ): WireRequest;
  /** A fresh decoder for one streamed answer (it keeps the little state one stream needs). */
  streamDecoder(): StreamDecoder;
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

/**
 * Turns one provider's server-sent events into the unified stream events. No I/O: the transport
 * feeds it parsed events. Throws ProviderError for an event that cannot be used (`invalid_response`)
 * or that reports a failure in-band (the provider's own error kind).
 */
export interface StreamDecoder {
  decode(event: SseEvent): ChatStreamEvent[];
}
