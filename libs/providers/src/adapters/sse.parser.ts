import { ProviderError } from '../provider.error';

/** One server-sent event: its `event:` name (null when absent) and its joined `data:` lines. */
export interface SseEvent {
  readonly event: string | null;
  readonly data: string;
}

/**
 * Incremental server-sent-events parser (https://html.spec.whatwg.org/multipage/server-sent-events.html,
 * "Interpreting an event stream"): text in, complete events out, in order. Lines end in LF, CRLF or
 * CR, and a chunk may end anywhere, even between the CR and LF of one line ending. Comments (`:`),
 * `id` and `retry` are ignored: a provider stream is read once, never resumed. Holds at most
 * `maxEventChars` of an unfinished event, so a peer that never ends a line cannot grow it without
 * bound.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private dataChars = 0;
  private event: string | null = null;
  /** The previous chunk ended in CR: a leading LF of the next chunk belongs to that line ending. */
  private pendingCr = false;

  constructor(private readonly maxEventChars = 8 * 1024 * 1024) {}

  push(chunk: string): SseEvent[] {
    let text = chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    const buf = this.buffer;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(buf.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < buf.length) {
          if (buf.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    this.buffer = start === 0 ? buf : buf.slice(start);
    if (this.buffer.length + this.dataChars > this.maxEventChars) {
      throw new ProviderError('invalid_response', 'invalid stream: event too large');
    }
    return out;
  }

  /** The stream ended: an event not followed by a blank line is dropped, as the spec says. */
  end(): void {
    this.buffer = '';
    this.data = [];
    this.dataChars = 0;
    this.event = null;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event, data: this.data.join('\n') });
      this.data = [];
      this.dataChars = 0;
      this.event = null;
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.dataChars += value.length + 1;
    } else if (field === 'event') {
      this.event = value;
    }
  }
}
