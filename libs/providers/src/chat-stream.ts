import type { ChatStreamEvent } from '@gateway/types';
import type { StreamDecoder } from './adapters/chat-adapter';
import { SseParser } from './adapters/sse.parser';
import { ProviderError } from './provider.error';
import type { UpstreamStream } from './transport/upstream-client';

/**
 * A provider's answer as it streams, in unified events. The router hands one out once its first
 * event has arrived (that is when a stream attempt counts as answered).
 */
export interface ChatStream {
  /**
   * The next events (at least one), or null when the provider's connection has ended — after an
   * `end` event if the stream was complete. Throws ProviderError when the stream breaks; the
   * connection is then already closed.
   */
  read(): Promise<readonly ChatStreamEvent[] | null>;
  /** Stops reading and closes the provider connection at once. Idempotent. */
  close(): void;
}

/** A stream over HTTP: transport text → SSE events → the adapter's decoder → unified events. */
export class SseChatStream implements ChatStream {
  private readonly parser: SseParser;
  private readonly chunks: AsyncGenerator<string>;
  private first: ChatStreamEvent[] | null = null;
  private closed = false;

  constructor(
    private readonly upstream: UpstreamStream,
    private readonly decoder: StreamDecoder,
    maxEventChars: number,
  ) {
    this.parser = new SseParser(maxEventChars);
    this.chunks = upstream.chunks();
  }

  /** Waits for the first event; a stream that ends or breaks before it is a failed attempt. */
  async open(): Promise<this> {
    const first = await this.pull();
    if (first === null) {
      throw new ProviderError('invalid_response', 'invalid stream: ended before its first event');
    }
    this.first = first;
    return this;
  }

  read(): Promise<ChatStreamEvent[] | null> {
    if (this.first !== null) {
      const first = this.first;
      this.first = null;
      return Promise.resolve(first);
    }
    return this.pull();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream.close();
    void this.chunks.return(undefined).catch(() => undefined);
  }

  private async pull(): Promise<ChatStreamEvent[] | null> {
    try {
      for (;;) {
        const next = await this.chunks.next();
        if (next.done === true) {
          this.parser.end();
          return null;
        }
        let out: ChatStreamEvent[] | null = null;
        for (const event of this.parser.push(next.value)) {
          const decoded = this.decoder.decode(event);
          if (decoded.length > 0) out = out === null ? decoded : out.concat(decoded);
        }
        if (out !== null) return out;
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }
}

/** A stream produced in process (the mock provider): one event per read. */
export class GeneratedChatStream implements ChatStream {
  private first: ChatStreamEvent | null = null;

  constructor(private readonly events: AsyncGenerator<ChatStreamEvent>) {}

  async open(): Promise<this> {
    const next = await this.events.next();
    if (next.done === true) {
      throw new ProviderError('invalid_response', 'invalid stream: ended before its first event');
    }
    this.first = next.value;
    return this;
  }

  async read(): Promise<ChatStreamEvent[] | null> {
    if (this.first !== null) {
      const first = this.first;
      this.first = null;
      return [first];
    }
    const next = await this.events.next();
    return next.done === true ? null : [next.value];
  }

  close(): void {
    void this.events.return(undefined).catch(() => undefined);
  }
}
