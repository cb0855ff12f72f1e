export type {
  ChatMessage,
  ChatRequest,
  ChatResult,
  ChatRole,
  ChatStreamEvent,
  FinishReason,
} from './chat.types';
export type { EmbeddingRequest, EmbeddingResult } from './embedding.types';
