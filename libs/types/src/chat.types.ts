/** The unified request every adapter translates from (validated by the completions lib). */
export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string;
}

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly maxTokens: number | null;
  readonly temperature: number | null;
  readonly topP: number | null;
  readonly stop: readonly string[] | null;
  readonly presencePenalty: number | null;
  readonly frequencyPenalty: number | null;
  readonly seed: number | null;
  readonly user: string | null;
}

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'other';

/** The unified answer every adapter translates to. */
export interface ChatResult {
  readonly content: string;
  readonly finishReason: FinishReason;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** The model name the provider reported (may differ from the catalog's, e.g. a dated snapshot). */
  readonly providerModel: string;
}

/**
 * One step of a streamed answer, whatever the provider's wire format: the adapters' stream decoders
 * produce these and the encoders turn them into a client's wire format, so every pairing of client
 * format and provider format goes through this one model.
 */
export type ChatStreamEvent =
  /** The provider's first event; `providerModel` when the provider named it. */
  | { readonly kind: 'start'; readonly providerModel: string | null }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'finish'; readonly finishReason: FinishReason }
  /**
   * Token counts as far as the provider reported them; a later usage event replaces the fields it
   * carries (Anthropic reports input tokens first and the output total at the end).
   */
  | {
      readonly kind: 'usage';
      readonly promptTokens: number | null;
      readonly completionTokens: number | null;
    }
  /** The provider ended its stream cleanly (`[DONE]`, `message_stop`). */
  | { readonly kind: 'end' };
