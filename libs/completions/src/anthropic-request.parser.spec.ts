import { GatewayError } from '@gateway/errors';
import { parseAnthropicBody } from './anthropic-request.parser';
import { parseCompletionBody } from './completion-request.parser';

const ok = {
  model: 'claude-sonnet-4-5',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'Hello' }],
};

function paramOf(body: unknown): string | null {
  try {
    parseAnthropicBody(body);
  } catch (err) {
    if (err instanceof GatewayError) return err.param;
    throw err;
  }
  throw new Error('expected a validation error');
}

describe('parseAnthropicBody', () => {
  it('maps a Messages request to the same chat request as its OpenAI twin', () => {
    const parsed = parseAnthropicBody({
      ...ok,
      system: [{ type: 'text', text: 'Be terse.', cache_control: { type: 'ephemeral' } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hel' },
            { type: 'text', text: 'lo' },
          ],
        },
      ],
      stop_sequences: ['END'],
      temperature: 0.5,
      top_p: 0.9,
      metadata: { user_id: 'u-1' },
    });
    const twin = parseCompletionBody({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'Hello' },
      ],
      stop: ['END'],
      temperature: 0.5,
      top_p: 0.9,
      user: 'u-1',
    });
    expect(parsed.model).toBe(twin.model);
    expect(parsed.request).toEqual(twin.request);
    expect(parsed.stream).toBeNull();
    expect(parseAnthropicBody({ ...ok, stream: true }).stream).toEqual({ includeUsage: true });
  });

  it.each([
    [[], 'body'],
    [{ ...ok, max_tokens: undefined }, 'max_tokens'],
    [{ ...ok, max_tokens: 0 }, 'max_tokens'],
    [{ ...ok, model: '' }, 'model'],
    [{ ...ok, messages: [] }, 'messages'],
    [{ ...ok, messages: [{ role: 'system', content: 'x' }] }, 'messages.0.role'],
    [{ ...ok, messages: [{ role: 'user', content: [{ type: 'image' }] }] }, 'messages.0.content.0'],
    [{ ...ok, temperature: 1.5 }, 'temperature'],
    [{ ...ok, stop_sequences: 'END' }, 'stop_sequences'],
    [{ ...ok, metadata: { user_id: 5 } }, 'metadata.user_id'],
    [{ ...ok, stream: 'yes' }, 'stream'],
    [{ ...ok, tools: [] }, 'tools'],
    [{ ...ok, top_k: 5 }, 'top_k'],
  ])('refuses %j naming %s', (body, param) => {
    expect(paramOf(body)).toBe(param);
  });
});
