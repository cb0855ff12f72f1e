import { GatewayError } from '@gateway/errors';
import { parseCompletionBody } from './completion-request.parser';

function errorOf(body: unknown): GatewayError {
  try {
    parseCompletionBody(body);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a validation error');
}

const ok = { model: 'gpt-4', messages: [{ role: 'user', content: 'Hello' }] };

describe('parseCompletionBody', () => {
  it('accepts the documented example (docs/api.md §3.1) and maps parameters', () => {
    const { model, request } = parseCompletionBody({
      ...ok,
      temperature: 0.7,
      max_tokens: 1000,
      top_p: 1,
      stop: 'END',
      seed: 42,
      user: 'u-1',
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
    });
    expect(model).toBe('gpt-4');
    expect(request).toEqual({
      messages: [{ role: 'user', content: 'Hello' }],
      maxTokens: 1000,
      temperature: 0.7,
      topP: 1,
      stop: ['END'],
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      seed: 42,
      user: 'u-1',
    });
  });

  it('reads stream and stream_options.include_usage, outside the chat request', () => {
    expect(parseCompletionBody(ok).stream).toBeNull();
    expect(parseCompletionBody({ ...ok, stream: false }).stream).toBeNull();
    expect(parseCompletionBody({ ...ok, stream: true }).stream).toEqual({ includeUsage: false });
    const parsed = parseCompletionBody({
      ...ok,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(parsed.stream).toEqual({ includeUsage: true });
    expect(parsed.request).toEqual(parseCompletionBody(ok).request);
  });

  it('joins OpenAI text parts', () => {
    const { request } = parseCompletionBody({
      model: 'm',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
      ],
    });
    expect(request.messages[0].content).toBe('ab');
  });

  it.each([
    [null, 'body'],
    [[], 'body'],
    [{ messages: ok.messages }, 'model'],
    [{ ...ok, model: 3 }, 'model'],
    [{ model: 'm' }, 'messages'],
    [{ model: 'm', messages: [] }, 'messages'],
    [{ model: 'm', messages: ['hi'] }, 'messages.0'],
    [{ model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.role'],
    [{ model: 'm', messages: [{ role: 'user' }] }, 'messages.0.content'],
    [{ model: 'm', messages: [{ role: 'user', content: 5 }] }, 'messages.0.content'],
    [{ model: 'm', messages: [{ role: 'user', content: 'a\u0000b' }] }, 'messages.0.content'],
    [{ ...ok, temperature: 'hot' }, 'temperature'],
    [{ ...ok, temperature: 3 }, 'temperature'],
    [{ ...ok, max_tokens: 0 }, 'max_tokens'],
    [{ ...ok, max_tokens: 1.5 }, 'max_tokens'],
    [{ ...ok, max_tokens: 10_000_000_000 }, 'max_tokens'],
    [{ ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    [{ ...ok, stream: 'yes' }, 'stream'],
    [{ ...ok, stream_options: { include_usage: true } }, 'stream_options'],
    [{ ...ok, stream: true, stream_options: { include_usage: 1 } }, 'stream_options.include_usage'],
    [{ ...ok, stream: true, stream_options: { other: true } }, 'stream_options.other'],
    [{ ...ok, n: 2 }, 'n'],
    [{ ...ok, tools: [] }, 'tools'],
  ])('refuses %j naming %s', (body, param) => {
    const err = errorOf(body);
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
  });

  it('refuses control characters in the model alias, which is recorded and quoted back', () => {
    for (const c of ['\u0000', '\u0001', '\n', '\u007f', '\u0085']) {
      const e = errorOf({ ...ok, model: `x${c}y` });
      expect([e.code, e.param]).toEqual(['invalid_request', 'model']);
    }
  });

  it('quotes an unknown field bounded and escaped', () => {
    const e = errorOf({ ...ok, [`${'f'.repeat(500)}\n`]: 1 });
    expect(e.param).toBe(`${'f'.repeat(64)}…`);
    expect(e.message).not.toContain('\n');
    const nested = errorOf({ ...ok, messages: [{ role: 'user', content: 'x', 'a\u0000': 1 }] });
    expect(nested.param).toBe('messages.0.a\\u0000');
  });
});
