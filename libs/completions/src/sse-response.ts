import type { ServerResponse } from 'node:http';
import type { CachedAnswer } from '@gateway/cache';
import type { ChatStreamAccumulator, ChatStreamEvent, StreamEncoder } from '@gateway/providers';
import { ClientClosedError, type StreamSink } from './stream-sink';

/**
 * A `text/event-stream` response in one client wire format (the encoder's). Writes each batch as
 * one write and waits for 'drain' when the socket's buffer is full, so what the gateway holds for
 * a slow reader is bounded by the socket's high-water mark plus one batch.
 */
export class SseResponse implements StreamSink {
  private started = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly encoder: StreamEncoder,
  ) {}

  get headSent(): boolean {
    return this.res.headersSent;
  }

  open(headers: Readonly<Record<string, string>>): void {
    const res = this.res;
    for (const name in headers) res.setHeader(name, headers[name]);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    // Reverse proxies (nginx) must not buffer the stream.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
  }

  async write(events: readonly ChatStreamEvent[], acc: ChatStreamAccumulator): Promise<void> {
    let out = '';
    for (const event of events) {
      switch (event.kind) {
        case 'start':
          out += this.start(acc.promptTokens);
          break;
        case 'text':
          out += this.start(acc.promptTokens) + this.encoder.text(event.text);
          break;
        case 'finish':
          out += this.encoder.finish(event.finishReason);
          break;
        default:
          break;
      }
    }
    if (out !== '') await this.send(out);
  }

  /** A whole answer (a cache hit, a coalesced leader's answer) as a stream, all but its end. */
  replay(answer: CachedAnswer): void {
    let out = this.start(answer.promptTokens);
    if (answer.content !== '') out += this.encoder.text(answer.content);
    this.res.write(out + this.encoder.finish(answer.finishReason));
  }

  /** The clean end; only once the request's record is durable. */
  end(answer: CachedAnswer): void {
    const usage = { promptTokens: answer.promptTokens, completionTokens: answer.completionTokens };
    this.res.end(this.start(answer.promptTokens) + this.encoder.end(answer.finishReason, usage));
  }

  /** The in-band error, and the end of the response without a clean end. */
  fail(message: string): void {
    if (this.res.writableEnded) return;
    this.res.end(this.start(null) + this.encoder.error(message));
  }

  private start(promptTokens: number | null): string {
    if (this.started) return '';
    this.started = true;
    return this.encoder.start(promptTokens);
  }

  private async send(text: string): Promise<void> {
    const res = this.res;
    if (res.destroyed) throw new ClientClosedError();
    if (res.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
    if (res.destroyed) throw new ClientClosedError();
  }
}

/**
 * A streamed request's response once the pipeline is done with it: how it ends, to be carried out
 * after the request's record is durable (the clean end — `[DONE]`, `message_stop` — is the
 * client's sign that the request was complete and accounted for).
 */
export class StreamReply {
  constructor(
    private readonly sse: SseResponse,
    private readonly res: ServerResponse,
    private readonly ending:
      | { readonly kind: 'complete'; readonly answer: CachedAnswer }
      | { readonly kind: 'interrupted'; readonly message: string }
      | { readonly kind: 'client_closed' },
  ) {}

  /** Records (via `record`), then ends the response as the stream went. */
  async close(record: () => Promise<void>): Promise<void> {
    try {
      await record();
    } catch (err) {
      this.sse.fail('The request could not be recorded; its answer must not be relied on.');
      throw err;
    }
    switch (this.ending.kind) {
      case 'complete':
        this.sse.end(this.ending.answer);
        return;
      case 'interrupted':
        this.sse.fail(this.ending.message);
        return;
      case 'client_closed':
        this.res.destroy();
        return;
    }
  }
}
