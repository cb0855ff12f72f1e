import type { FinishReason } from '@gateway/types';
import type { StreamEncoder, StreamUsage } from './stream-encoder';

/** Unified finish reasons → Anthropic's `stop_reason`. */
export function anthropicStopReason(reason: FinishReason): string {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/**
 * Unified stream → Anthropic Messages streaming events, as the official SDK reads them
 * (https://docs.anthropic.com/en/docs/build-with-claude/streaming): `message_start`, one text
 * block (`content_block_start` / `content_block_delta` / `content_block_stop`), `message_delta`
 * with the stop reason and the final usage, `message_stop`. The final usage repeats
 * `input_tokens`, because a provider speaking OpenAI's format only reports them at the end.
 */
export class AnthropicEventEncoder implements StreamEncoder {
  constructor(
    /** `msg_…`. */
    private readonly id: string,
    /** The model the client asked for. */
    private readonly model: string,
  ) {}

  /** `message_start` and the opening of the text block; input tokens when already known. */
  start(promptTokens: number | null): string {
    const message = {
      id: this.id,
      type: 'message',
      role: 'assistant',
      content: [],
      model: this.model,
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: promptTokens ?? 0, output_tokens: 0 },
    };
    return (
      event('message_start', { type: 'message_start', message }) +
      event('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'text', text: '' },
      })
    );
  }

  /** Anthropic sends the stop reason with the final usage, in `message_delta`. */
  finish(): string {
    return '';
  }

  text(text: string): string {
    return (
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,' +
      `"delta":{"type":"text_delta","text":${JSON.stringify(text)}}}\n\n`
    );
  }

  /** The clean end, with the stop reason and the exact usage. */
  end(reason: FinishReason, usage: StreamUsage): string {
    return (
      event('content_block_stop', { type: 'content_block_stop', index: 0 }) +
      event('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: anthropicStopReason(reason), stop_sequence: null },
        usage: { input_tokens: usage.promptTokens, output_tokens: usage.completionTokens },
      }) +
      event('message_stop', { type: 'message_stop' })
    );
  }

  /** The in-band failure after the first byte: no `message_stop` follows. */
  error(message: string): string {
    return event('error', { type: 'error', error: { type: 'api_error', message } });
  }
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
