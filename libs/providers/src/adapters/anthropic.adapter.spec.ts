import { chatRequest, providerConfig, recorded, route } from '../__fixtures__/fixtures';
import type { ProviderError } from '../provider.error';
import { ANTHROPIC_VERSION, AnthropicAdapter } from './anthropic.adapter';

const adapter = new AnthropicAdapter();
const provider = providerConfig({
  type: 'anthropic',
  baseUrl: 'https://api.anthropic.com',
  apiKey: 'sk-ant-api03-secretsecret',
});

function parseError(file: string): ProviderError {
  const a = recorded(file);
  return adapter.parseError(a.status, a.headers, a.body, provider);
}

describe('AnthropicAdapter', () => {
  describe('request', () => {
    it('POST /v1/messages with x-api-key and anthropic-version; system prompt lifted out', () => {
      const wire = adapter.chatRequest(
        provider,
        route({ model: 'claude-sonnet-4-5' }),
        chatRequest({
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hi' },
            { role: 'assistant', content: 'Hello.' },
            { role: 'system', content: 'Answer in French.' },
            { role: 'user', content: 'How are you?' },
          ],
          maxTokens: 300,
        }),
      );
      expect(wire.method).toBe('POST');
      expect(wire.path).toBe('/v1/messages');
      expect(wire.headers['x-api-key']).toBe('sk-ant-api03-secretsecret');
      expect(wire.headers['anthropic-version']).toBe(ANTHROPIC_VERSION);
      expect(wire.headers.authorization).toBeUndefined();
      expect(JSON.parse(wire.body!)).toEqual({
        model: 'claude-sonnet-4-5',
        max_tokens: 300,
        system: 'Be brief.\n\nAnswer in French.',
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello.' },
          { role: 'user', content: 'How are you?' },
        ],
      });
    });

    it("max_tokens is required there: the route's maximum output when the client sent none", () => {
      const wire = adapter.chatRequest(provider, route(), chatRequest({ maxTokens: null }));
      expect(JSON.parse(wire.body!).max_tokens).toBe(16_384);
    });

    it('maps parameters: temperature clamped to 1, stop_sequences, metadata.user_id; drops what Anthropic lacks', () => {
      const body = JSON.parse(
        adapter.chatRequest(
          provider,
          route(),
          chatRequest({
            messages: [{ role: 'user', content: 'x' }],
            temperature: 1.7,
            topP: 0.8,
            stop: ['END', '\n', '  '],
            presencePenalty: 1,
            frequencyPenalty: 1,
            seed: 7,
            user: 'u-9',
          }),
        ).body!,
      );
      expect(body).toEqual({
        model: 'model-x',
        max_tokens: 16_384,
        messages: [{ role: 'user', content: 'x' }],
        temperature: 1,
        top_p: 0.8,
        stop_sequences: ['END'],
        metadata: { user_id: 'u-9' },
      });
    });
  });

  describe('answers', () => {
    it('maps a message: text, usage, stop_reason end_turn → stop', () => {
      expect(adapter.parseChat(recorded('anthropic/message.json').body, route())).toEqual({
        content: 'Hello! How can I help you today?',
        finishReason: 'stop',
        promptTokens: 12,
        completionTokens: 11,
        providerModel: 'claude-sonnet-4-5-20250929',
      });
    });

    it('joins text blocks, max_tokens → length, counts prompt-cache tokens as input', () => {
      const r = adapter.parseChat(
        recorded('anthropic/message-max-tokens-cached.json').body,
        route(),
      );
      expect(r.content).toBe('The first part and the second part');
      expect(r.finishReason).toBe('length');
      expect(r.promptTokens).toBe(20 + 100 + 2000);
      expect(r.completionTokens).toBe(16);
    });

    it.each([
      ['no content', '{"type":"message","usage":{"input_tokens":1,"output_tokens":1}}'],
      ['no usage', '{"type":"message","content":[{"type":"text","text":"hi"}]}'],
      [
        'text not a string',
        '{"content":[{"type":"text","text":5}],"usage":{"input_tokens":1,"output_tokens":1}}',
      ],
      ['garbage', 'upstream connect error or disconnect/reset before headers'],
    ])('refuses %s as invalid_response', (_label, body) => {
      expect(() => adapter.parseChat(body, route())).toThrow(
        expect.objectContaining({ kind: 'invalid_response' }),
      );
    });
  });

  describe('errors', () => {
    it('400 invalid_request_error: bad_request with the provider message', () => {
      const e = parseError('anthropic/error-400-invalid-request.json');
      expect(e.kind).toBe('bad_request');
      expect(e.allowsFallback).toBe(false);
      expect(e.message).toBe('prompt is too long: 215304 tokens > 200000 maximum');
    });

    it('413 request_too_large is the request’s fault too', () => {
      expect(parseError('anthropic/error-413-request-too-large.json').kind).toBe('bad_request');
    });

    it('401 authentication_error falls back without echoing the message', () => {
      const e = parseError('anthropic/error-401-authentication.json');
      expect(e.kind).toBe('auth');
      expect(e.allowsFallback).toBe(true);
      expect(e.message).toBe('HTTP 401');
    });

    it('429 rate_limit_error with retry-after seconds', () => {
      const e = parseError('anthropic/error-429-rate-limit.json');
      expect(e.kind).toBe('rate_limited');
      expect(e.retryAfterMs).toBe(7000);
    });

    it('500 api_error and 529 overloaded_error are retryable server errors', () => {
      for (const file of ['anthropic/error-500-api.json', 'anthropic/error-529-overloaded.json']) {
        const e = parseError(file);
        expect(e.kind).toBe('server');
        expect(e.isRetryable).toBe(true);
      }
    });
  });

  it('health probe: GET /v1/models with the version header', () => {
    const wire = adapter.healthRequest(provider, '/v1/models');
    expect(wire.method).toBe('GET');
    expect(wire.headers['anthropic-version']).toBe(ANTHROPIC_VERSION);
    expect(wire.headers['x-api-key']).toBe('sk-ant-api03-secretsecret');
  });
});
