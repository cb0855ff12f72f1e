// The unified model lives in @gateway/types (the cache needs it too, and may not import providers);
// re-exported so the libs above keep one import for the providers' surface.
export type {
  ChatMessage,
  ChatRequest,
  ChatResult,
  ChatRole,
  ChatStreamEvent,
  EmbeddingRequest,
  EmbeddingResult,
  FinishReason,
} from '@gateway/types';
export { float32FromBytes, float32ToBase64 } from './vectors';
export { ProvidersModule } from './providers.module';
export { ProvidersService } from './providers.service';
export type { ProviderStatus, ProviderHealth } from './provider-registry.service';
export { ProviderError, type ProviderErrorKind } from './provider.error';
export type { CircuitState } from './resilience/circuit-breaker';
export type { ChatStream } from './chat-stream';
export { ChatStreamAccumulator } from './adapters/stream-accumulator';
export { OpenAiChunkEncoder, openAiFinishReason } from './adapters/openai-chunk.encoder';
export type { StreamEncoder, StreamUsage } from './adapters/stream-encoder';
export { AnthropicEventEncoder, anthropicStopReason } from './adapters/anthropic-event.encoder';
