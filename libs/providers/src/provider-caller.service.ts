import { Injectable } from '@nestjs/common';
import type { ProviderConfig, ProviderType, RouteConfig } from '@gateway/config';
import type { ChatRequest, ChatResult, EmbeddingRequest, EmbeddingResult } from '@gateway/types';
import { AnthropicAdapter } from './adapters/anthropic.adapter';
import type { ChatAdapter } from './adapters/chat-adapter';
import { MockAdapter } from './adapters/mock.adapter';
import { OpenAiCompatibleAdapter } from './adapters/openai-compatible.adapter';
import { OpenAiAdapter } from './adapters/openai.adapter';
import { type ChatStream, GeneratedChatStream, SseChatStream } from './chat-stream';
import { ProviderError } from './provider.error';
import { UpstreamClient } from './transport/upstream-client';
import type { EmbeddingAdapter } from './adapters/embedding-adapter';
import { MockEmbeddingsAdapter } from './adapters/mock-embeddings.adapter';
import { OpenAiCompatibleEmbeddingsAdapter } from './adapters/openai-compatible-embeddings.adapter';
import { OpenAiEmbeddingsAdapter } from './adapters/openai-embeddings.adapter';

/** Embedding wire formats; Anthropic has no embeddings API (the catalog refuses such a route). */
const EMBEDDING_ADAPTERS: Readonly<Partial<Record<ProviderType, EmbeddingAdapter>>> = {
  openai: new OpenAiEmbeddingsAdapter(),
  'openai-compatible': new OpenAiCompatibleEmbeddingsAdapter(),
};
const MOCK_EMBEDDINGS = new MockEmbeddingsAdapter();

/** Adapters are stateless, so one instance per wire format serves every provider of that type. */
const ADAPTERS: Readonly<Record<Exclude<ProviderType, 'mock'>, ChatAdapter>> = {
  openai: new OpenAiAdapter(),
  'openai-compatible': new OpenAiCompatibleAdapter(),
  anthropic: new AnthropicAdapter(),
};

/**
 * One attempt against one provider: adapter translation around one transport call. No retries,
 * no fallback, no state: the router owns those.
 */
@Injectable()
export class ProviderCaller {
  private readonly mock = new MockAdapter();

  constructor(private readonly upstream: UpstreamClient) {}

  async chat(
    provider: ProviderConfig,
    route: RouteConfig,
    request: ChatRequest,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ChatResult> {
    if (provider.type === 'mock') return this.mock.complete(provider, route, request, signal);
    const adapter = ADAPTERS[provider.type];
    const res = await this.upstream.send(
      provider,
      adapter.chatRequest(provider, route, request),
      timeoutMs,
      signal,
    );
    if (res.status < 200 || res.status >= 300) {
      throw adapter.parseError(res.status, res.headers, res.body, provider);
    }
    return adapter.parseChat(res.body, route);
  }

  /**
   * Opens a streamed answer: resolves once the provider's first event has arrived (before that, a
   * failure is an ordinary failed attempt the router may retry or fall back from). From then on
   * the caller reads the stream and must close it if it stops early; the caller's `signal`
   * closes it too.
   */
  async openStream(
    provider: ProviderConfig,
    route: RouteConfig,
    request: ChatRequest,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ChatStream> {
    if (provider.type === 'mock') {
      return new GeneratedChatStream(this.mock.stream(provider, route, request, signal)).open();
    }
    const adapter = ADAPTERS[provider.type];
    const res = await this.upstream.stream(
      provider,
      adapter.chatRequest(provider, route, request, true),
      timeoutMs,
      signal,
    );
    if (res.status < 200 || res.status >= 300) {
      throw adapter.parseError(res.status, res.headers, await res.text(), provider);
    }
    return new SseChatStream(res, adapter.streamDecoder(), provider.maxResponseBytes).open();
  }

  /** The health probe: any 2xx is healthy; the body is read (size-capped) and ignored. */
  async probe(provider: ProviderConfig, path: string, timeoutMs: number): Promise<void> {
    if (provider.type === 'mock') return;
    const adapter = ADAPTERS[provider.type];
    const res = await this.upstream.send(
      provider,
      adapter.healthRequest(provider, path),
      timeoutMs,
    );
    if (res.status < 200 || res.status >= 300) {
      throw adapter.parseError(res.status, res.headers, res.body, provider);
    }
  }

  /** One embeddings attempt: like `chat`, through the provider's embedding adapter. */
  async embed(
    provider: ProviderConfig,
    route: RouteConfig,
    request: EmbeddingRequest,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<EmbeddingResult> {
    if (provider.type === 'mock') return MOCK_EMBEDDINGS.embed(provider, route, request, signal);
    const adapter = EMBEDDING_ADAPTERS[provider.type];
    if (!adapter) {
      throw new ProviderError('not_found', `provider type ${provider.type} has no embeddings`);
    }
    const res = await this.upstream.send(
      provider,
      adapter.embeddingRequest(provider, route, request),
      timeoutMs,
      signal,
    );
    if (res.status < 200 || res.status >= 300) {
      throw adapter.parseError(res.status, res.headers, res.body, provider);
    }
    return adapter.parseEmbeddings(res.body, route, request);
  }

  static toProviderError(err: unknown): ProviderError {
    if (err instanceof ProviderError) return err;
    return new ProviderError('invalid_response', 'invalid response', { cause: err });
  }
}
