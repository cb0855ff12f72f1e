import type { FinishReason } from '@gateway/types';
import type { StreamEncoder, StreamUsage } from './stream-encoder';

export interface ChunkStreamOptions {
  /** `chatcmpl-…`, the same on every chunk. */
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  /** The model the client asked for. */
  readonly model: string;
  /** `stream_options.include_usage`: a usage-only chunk before `[DONE]`, and `usage: null` before. */
  readonly includeUsage: boolean;
}

/** OpenAI's finish reasons; `other` has no name there and reads as a normal stop. */
export function openAiFinishReason(reason: FinishReason): string {
  return reason === 'other' ? 'stop' : reason;
}

/**
 * Unified stream → OpenAI `chat.completion.chunk` server-sent events, as the official SDKs read them
 * (https://platform.openai.com/docs/api-reference/chat-streaming). Pure text building; the caller
 * decides when each piece is written (the clean end only after the record is durable). The chunk
 * envelope is built once, so a text chunk costs one JSON.stringify of its text.
 */
export class OpenAiChunkEncoder implements StreamEncoder {
  private readonly head: string;
  private readonly tail: string;
  private readonly includeUsage: boolean;
  private finished = false;

  constructor(options: ChunkStreamOptions) {
    this.head =
      `data: {"id":${JSON.stringify(options.id)},"object":"chat.completion.chunk",` +
      `"created":${options.created},"model":${JSON.stringify(options.model)},"choices":`;
    this.includeUsage = options.includeUsage;
    this.tail = options.includeUsage ? ',"usage":null}\n\n' : '}\n\n';
  }

  /** The first chunk: the assistant role, no text yet. */
  start(): string {
    return this.choice('{"role":"assistant","content":""}', 'null');
  }

  text(text: string): string {
    return this.choice(`{"content":${JSON.stringify(text)}}`, 'null');
  }

  finish(reason: FinishReason): string {
    if (this.finished) return '';
    this.finished = true;
    return this.choice('{}', JSON.stringify(openAiFinishReason(reason)));
  }

  /** The clean end: the finish chunk if none was sent, the usage chunk if asked for, `[DONE]`. */
  end(reason: FinishReason, usage: StreamUsage): string {
    let out = this.finish(reason);
    if (this.includeUsage) {
      const u = {
        prompt_tokens: usage.promptTokens,
        completion_tokens: usage.completionTokens,
        total_tokens: usage.promptTokens + usage.completionTokens,
      };
      out += `${this.head}[],"usage":${JSON.stringify(u)}}\n\n`;
    }
    return `${out}data: [DONE]\n\n`;
  }

  /** The in-band failure after the first byte: the stream then closes without `[DONE]`. */
  error(message: string): string {
    const body = { error: { message, type: 'upstream_error', code: 'stream_interrupted' } };
    return `data: ${JSON.stringify(body)}\n\n`;
  }

  private choice(delta: string, finishReason: string): string {
    return `${this.head}[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finishReason}}]${this.tail}`;
  }
}
