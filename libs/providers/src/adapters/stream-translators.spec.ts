import { chatRequest, providerConfig, recordedStream, route } from '../__fixtures__/fixtures';
import type { ChatStreamEvent } from '@gateway/types';
import { ProviderError } from '../provider.error';
import { AnthropicAdapter, AnthropicStreamDecoder } from './anthropic.adapter';
import { AnthropicEventEncoder } from './anthropic-event.encoder';
import type { StreamDecoder } from './chat-adapter';
import { OpenAiChunkEncoder } from './openai-chunk.encoder';
import { OpenAiCompatibleAdapter } from './openai-compatible.adapter';
import { OpenAiAdapter, OpenAiStreamDecoder } from './openai.adapter';
import { SseParser } from './sse.parser';
import { ChatStreamAccumulator } from './stream-accumulator';

/** Feeds a wire stream through the parser in pieces of `step` characters, then decodes it. */
function decode(wire: string, decoder: StreamDecoder, step = wire.length): ChatStreamEvent[] {
  const parser = new SseParser();
  const out: ChatStreamEvent[] = [];
  for (let i = 0; i < wire.length; i += step) {
    for (const ev of parser.push(wire.slice(i, i + step))) out.push(...decoder.decode(ev));
  }
  return out;
}

function accumulate(events: ChatStreamEvent[]): ChatStreamAccumulator {
  const acc = new ChatStreamAccumulator();
  for (const e of events) acc.apply(e);
  return acc;
}

function thrown(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('expected a ProviderError');
}

describe('SseParser', () => {
  it('yields the same events whatever the chunking, with LF, CRLF or CR line endings', () => {
    const lf =
      'event: a\ndata: one\n\n: a comment\ndata: two\ndata: lines\n\nid: 7\ndata:three\n\n';
    for (const wire of [lf, lf.replace(/\n/g, '\r\n'), lf.replace(/\n/g, '\r')]) {
      for (const step of [1, 2, 3, 7, wire.length]) {
        const parser = new SseParser();
        const events = [];
        for (let i = 0; i < wire.length; i += step)
          events.push(...parser.push(wire.slice(i, i + step)));
        expect(events).toEqual([
          { event: 'a', data: 'one' },
          { event: null, data: 'two\nlines' },
          { event: null, data: 'three' },
        ]);
      }
    }
  });

  it('keeps an unfinished event until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('data: {"a":')).toEqual([]);
    expect(parser.push('1}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: null, data: '{"a":1}' }]);
  });

  it('refuses an event larger than its bound instead of buffering without limit', () => {
    const parser = new SseParser(100);
    expect(thrown(() => parser.push(`data: ${'x'.repeat(200)}`)).kind).toBe('invalid_response');
  });
});

describe('OpenAI stream decoding (recorded streams)', () => {
  it('reads text, finish reason and the usage-only last chunk, at any chunking', () => {
    const wire = recordedStream('openai/chat-stream-include-usage.sse');
    for (const step of [1, 5, 64, wire.length]) {
      const events = decode(wire, new OpenAiStreamDecoder(), step);
      expect(events[0]).toEqual({ kind: 'start', providerModel: 'gpt-4o-mini-2024-07-18' });
      expect(events.at(-1)).toEqual({ kind: 'end' });
      const acc = accumulate(events);
      expect(acc.result('x')).toEqual({
        content: 'Hello! How can I help you today?',
        finishReason: 'stop',
        promptTokens: 19,
        completionTokens: 10,
        providerModel: 'gpt-4o-mini-2024-07-18',
      });
      expect(acc.textEvents).toBe(9);
    }
  });

  it('without a usage chunk the stream ends with no usage (not billable as exact)', () => {
    const acc = accumulate(
      decode(recordedStream('openai/chat-stream-length-no-usage.sse'), new OpenAiStreamDecoder()),
    );
    expect(acc.content).toBe('The answer is');
    expect(acc.finishReason).toBe('length');
    expect(acc.ended).toBe(true);
    expect(acc.hasUsage).toBe(false);
    expect(acc.result('x')).toBeNull();
  });

  it('an in-band error is a retryable server failure', () => {
    const err = thrown(() =>
      decode(recordedStream('openai/chat-stream-error.sse'), new OpenAiStreamDecoder()),
    );
    expect(err.kind).toBe('server');
    expect(err.message).toContain('The server had an error');
  });

  it('an event that is not JSON is an invalid response', () => {
    const err = thrown(() => decode('data: {"id": <html>\n\n', new OpenAiStreamDecoder()));
    expect(err.kind).toBe('invalid_response');
  });

  it('asks for usage when streaming (OpenAI and compatible servers)', () => {
    for (const adapter of [new OpenAiAdapter(), new OpenAiCompatibleAdapter()]) {
      const wire = adapter.chatRequest(providerConfig(), route(), chatRequest(), true);
      expect(JSON.parse(wire.body!)).toMatchObject({
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(wire.headers.accept).toBe('text/event-stream');
      const plain = JSON.parse(adapter.chatRequest(providerConfig(), route(), chatRequest()).body!);
      expect(plain.stream).toBeUndefined();
      expect(plain.stream_options).toBeUndefined();
    }
  });
});

describe('Anthropic stream decoding (recorded streams)', () => {
  it('reads message_start usage, text deltas, message_delta usage and skips pings', () => {
    const wire = recordedStream('anthropic/message-stream.sse');
    for (const step of [1, 13, wire.length]) {
      const events = decode(wire, new AnthropicStreamDecoder(), step);
      expect(events[0]).toEqual({ kind: 'start', providerModel: 'claude-sonnet-4-5-20250929' });
      expect(events.at(-1)).toEqual({ kind: 'end' });
      expect(accumulate(events).result('x')).toEqual({
        content: 'Hello! How can I help you today?',
        finishReason: 'stop',
        promptTokens: 25,
        completionTokens: 12,
        providerModel: 'claude-sonnet-4-5-20250929',
      });
    }
  });

  it('an overloaded_error event mid-stream is a retryable server failure, after the text so far', () => {
    const parser = new SseParser();
    const decoder = new AnthropicStreamDecoder();
    const acc = new ChatStreamAccumulator();
    const err = thrown(() => {
      for (const ev of parser.push(recordedStream('anthropic/message-stream-overloaded.sse'))) {
        for (const e of decoder.decode(ev)) acc.apply(e);
      }
    });
    expect(err.kind).toBe('server');
    expect(err.message).toContain('overloaded_error');
    expect(acc.content).toBe('Hel');
    expect(acc.promptTokens).toBe(25);
  });

  it('maps stop reasons and counts prompt-cache tokens as input', () => {
    const decoder = new AnthropicStreamDecoder();
    const start = decoder.decode({
      event: 'message_start',
      data: JSON.stringify({
        type: 'message_start',
        message: {
          model: 'm',
          usage: { input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 1 },
        },
      }),
    });
    expect(start[1]).toEqual({ kind: 'usage', promptTokens: 105, completionTokens: 1 });
    const delta = decoder.decode({
      event: 'message_delta',
      data: '{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":9}}',
    });
    expect(delta).toEqual([
      { kind: 'finish', finishReason: 'length' },
      { kind: 'usage', promptTokens: null, completionTokens: 9 },
    ]);
  });

  it('asks for a stream', () => {
    const wire = new AnthropicAdapter().chatRequest(
      providerConfig({ type: 'anthropic' }),
      route(),
      chatRequest(),
      true,
    );
    expect(JSON.parse(wire.body!)).toMatchObject({ stream: true });
    expect(wire.headers.accept).toBe('text/event-stream');
  });
});

describe('stream encoders (unified → client wire)', () => {
  const usage = { promptTokens: 19, completionTokens: 10 };

  it('OpenAI chunks read back as the same answer; usage chunk only when asked for', () => {
    for (const includeUsage of [true, false]) {
      const enc = new OpenAiChunkEncoder({
        id: 'chatcmpl-1',
        created: 1,
        model: 'gpt-4o',
        includeUsage,
      });
      const wire = enc.start() + enc.text('Hel') + enc.text('lo "x"\n') + enc.end('length', usage);
      expect(wire.endsWith('data: [DONE]\n\n')).toBe(true);
      const chunks = wire
        .split('\n\n')
        .filter((l) => l.startsWith('data: {'))
        .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
      for (const c of chunks) {
        expect(c).toMatchObject({
          id: 'chatcmpl-1',
          object: 'chat.completion.chunk',
          model: 'gpt-4o',
        });
      }
      const last = chunks.at(-1)!;
      if (includeUsage) {
        expect(last).toMatchObject({
          choices: [],
          usage: { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29 },
        });
        expect(chunks[0].usage).toBeNull();
      } else {
        expect(chunks.some((c) => 'usage' in c)).toBe(false);
      }
      const acc = accumulate(decode(wire, new OpenAiStreamDecoder()));
      expect(acc.content).toBe('Hello "x"\n');
      expect(acc.finishReason).toBe('length');
      expect(acc.ended).toBe(true);
    }
  });

  it('the OpenAI in-band error is not a clean end', () => {
    const enc = new OpenAiChunkEncoder({ id: 'c', created: 1, model: 'm', includeUsage: false });
    const text = enc.error('the provider stream broke');
    expect(JSON.parse(text.slice(6))).toEqual({
      error: {
        message: 'the provider stream broke',
        type: 'upstream_error',
        code: 'stream_interrupted',
      },
    });
    expect(text).not.toContain('[DONE]');
  });

  it('Anthropic events read back as the same answer with the final usage', () => {
    const enc = new AnthropicEventEncoder('msg_1', 'claude-x');
    const wire = enc.start(null) + enc.text('Hi') + enc.text(' there') + enc.end('stop', usage);
    const acc = accumulate(decode(wire, new AnthropicStreamDecoder()));
    expect(acc.result('x')).toEqual({
      content: 'Hi there',
      finishReason: 'stop',
      promptTokens: 19,
      completionTokens: 10,
      providerModel: 'claude-x',
    });
    expect(
      wire
        .split('\n\n')
        .filter(Boolean)
        .map((b) => b.split('\n')[0]),
    ).toEqual([
      'event: message_start',
      'event: content_block_start',
      'event: content_block_delta',
      'event: content_block_delta',
      'event: content_block_stop',
      'event: message_delta',
      'event: message_stop',
    ]);
    const err = enc.error('broken');
    expect(err.startsWith('event: error\n')).toBe(true);
    expect(thrown(() => decode(err, new AnthropicStreamDecoder())).kind).toBe('server');
  });
});
