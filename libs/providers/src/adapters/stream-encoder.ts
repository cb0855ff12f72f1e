import type { FinishReason } from '@gateway/types';

export interface StreamUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/**
 * Unified stream → one client wire format. Pure text building: the caller decides when each piece
 * is written (the clean end only once the request's record is durable).
 */
export interface StreamEncoder {
  /** The opening, once the provider's first event is in; input tokens when already known. */
  start(promptTokens: number | null): string;
  text(text: string): string;
  /** The finish reason as soon as it is known ('' when the format only sends it at the end). */
  finish(reason: FinishReason): string;
  /** The clean end, with the exact usage. */
  end(reason: FinishReason, usage: StreamUsage): string;
  /** The in-band failure after the first byte; no clean end follows. */
  error(message: string): string;
}
