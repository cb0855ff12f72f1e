import { chatRequest, providerConfig, recorded, route } from '../__fixtures__/fixtures';
import { ProviderError } from '../provider.error';
import { OpenAiCompatibleAdapter } from './openai-compatible.adapter';
import { OpenAiAdapter } from './openai.adapter';

const adapter = new OpenAiAdapter();
const provider = providerConfig({ type: 'openai', apiKey: 'sk-live-abcdefghijklmnop' });

function parseError(file: string): ProviderError {
  const a = recorded(file);
  return adapter.parseError(a.status, a.headers, a.body, provider);
}

describe('OpenAiAdapter', () => {
  describe('request', () => {
    it('builds POST /chat/completions with a Bearer key and only the parameters that were set', () => {
      const wire = adapter.chatRequest(provider, route({ model: 'gpt-4o-mini' }), chatRequest());
      expect(wire.method).toBe('POST');
      expect(wire.path).toBe('/chat/completions');
      expect(wire.headers.authorization).toBe('Bearer sk-live-abcdefghijklmnop');
      expect(wire.headers['content-type']).toBe('application/json');
      expect(JSON.parse(wire.body!)).toEqual({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'Hello, how are you?' },
        ],
      });
    });

    it('passes every generation parameter through, max tokens as max_completion_tokens', () => {
      const wire = adapter.chatRequest(
        provider,
        route(),
        chatRequest({
          maxTokens: 100,
          temperature: 1.5,
          topP: 0.9,
          stop: ['END'],
          presencePenalty: 0.5,
          frequencyPenalty: -0.5,
          seed: 42,
          user: 'u-1',
        }),
      );
      const body = JSON.parse(wire.body!);
      expect(body).toMatchObject({
        max_completion_tokens: 100,
        temperature: 1.5,
        top_p: 0.9,
        stop: ['END'],
        presence_penalty: 0.5,
        frequency_penalty: -0.5,
        seed: 42,
        user: 'u-1',
      });
      expect(body.max_tokens).toBeUndefined();
      expect(body.stream).toBeUndefined();
    });
  });

  describe('answers', () => {
    it('maps a chat.completion: content, usage, finish reason, the dated model', () => {
      expect(adapter.parseChat(recorded('openai/chat-completion.json').body, route())).toEqual({
        content: 'Hello! How can I assist you today?',
        finishReason: 'stop',
        promptTokens: 19,
        completionTokens: 10,
        providerModel: 'gpt-4o-mini-2024-07-18',
      });
    });

    it('maps finish_reason length', () => {
      const r = adapter.parseChat(recorded('openai/chat-completion-length.json').body, route());
      expect(r.finishReason).toBe('length');
      expect(r.completionTokens).toBe(8);
    });

    it('turns a refusal (content null) into the refusal text with content_filter', () => {
      const r = adapter.parseChat(recorded('openai/chat-completion-refusal.json').body, route());
      expect(r.content).toBe("I'm sorry, I can't help with that.");
      expect(r.finishReason).toBe('content_filter');
    });

    it.each([
      ['not JSON', '{"id": "x", "choices": [ <html>'],
      [
        'no choices',
        '{"id":"x","object":"chat.completion","usage":{"prompt_tokens":1,"completion_tokens":1}}',
      ],
      ['empty choices', '{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}'],
      ['no message', '{"choices":[{"index":0}],"usage":{"prompt_tokens":1,"completion_tokens":1}}'],
      ['no usage', '{"choices":[{"message":{"role":"assistant","content":"hi"}}]}'],
      [
        'negative usage',
        '{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":-1,"completion_tokens":1}}',
      ],
      ['a JSON array', '[1,2]'],
    ])('refuses an answer with %s as invalid_response (fallback-worthy)', (_label, body) => {
      let caught: unknown;
      try {
        adapter.parseChat(body, route());
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProviderError);
      const e = caught as ProviderError;
      expect(e.kind).toBe('invalid_response');
      expect(e.allowsFallback).toBe(true);
    });
  });

  describe('errors', () => {
    it('400 context_length_exceeded: bad_request with the provider message, no fallback', () => {
      const e = parseError('openai/error-400-context-length.json');
      expect(e.kind).toBe('bad_request');
      expect(e.status).toBe(400);
      expect(e.isRetryable).toBe(false);
      expect(e.allowsFallback).toBe(false);
      expect(e.attemptOutcome).toBe('rejected');
      expect(e.message).toMatch(/^This model's maximum context length is 128000 tokens/);
    });

    it('401: auth failure, falls back, message carries no key material', () => {
      const e = parseError('openai/error-401-invalid-key.json');
      expect(e.kind).toBe('auth');
      expect(e.allowsFallback).toBe(true);
      expect(e.isRetryable).toBe(false);
      expect(e.message).toBe('HTTP 401');
    });

    it('429: rate_limited, retryable, Retry-After from retry-after-ms', () => {
      const e = parseError('openai/error-429-rate-limit.json');
      expect(e.kind).toBe('rate_limited');
      expect(e.isRetryable).toBe(true);
      expect(e.retryAfterMs).toBe(1500);
      expect(e.attemptOutcome).toBe('rate_limited');
    });

    it('500 and an HTML 503 are server errors, retryable', () => {
      for (const file of ['openai/error-500.json', 'openai/error-503-html.json']) {
        const e = parseError(file);
        expect(e.kind).toBe('server');
        expect(e.isRetryable).toBe(true);
        expect(e.message).not.toMatch(/html/i);
      }
    });

    it('a 3xx is an unexpected status (redirects are not followed)', () => {
      const e = adapter.parseError(302, { location: 'http://elsewhere/' }, '', provider);
      expect(e.kind).toBe('invalid_response');
      expect(e.allowsFallback).toBe(true);
    });

    it('scrubs the configured key and key-shaped tokens from a 400 message', () => {
      const e = adapter.parseError(
        400,
        {},
        JSON.stringify({
          error: {
            message: 'bad key sk-live-abcdefghijklmnop and sk-other-123456789 llm-gw-abcdefgh12',
          },
        }),
        provider,
      );
      expect(e.message).not.toContain('abcdefghijklmnop');
      expect(e.message).not.toContain('sk-other');
      expect(e.message).not.toContain('llm-gw-abcdefgh12');
      expect(e.message).toContain('[redacted]');
    });
  });

  it('health probe: GET the configured path with the key', () => {
    const wire = adapter.healthRequest(provider, '/models');
    expect(wire).toEqual({
      method: 'GET',
      path: '/models',
      headers: { accept: 'application/json', authorization: 'Bearer sk-live-abcdefghijklmnop' },
      body: null,
    });
  });
});

describe('OpenAiCompatibleAdapter (Ollama, vLLM, llama.cpp)', () => {
  const local = new OpenAiCompatibleAdapter();
  const keyless = providerConfig({ type: 'openai-compatible', apiKey: '' });

  it('sends no Authorization header without a key and uses max_tokens', () => {
    const wire = local.chatRequest(
      keyless,
      route({ model: 'llama3.1' }),
      chatRequest({ maxTokens: 64 }),
    );
    expect(wire.headers.authorization).toBeUndefined();
    const body = JSON.parse(wire.body!);
    expect(body.max_tokens).toBe(64);
    expect(body.max_completion_tokens).toBeUndefined();
  });

  it("parses Ollama's answer", () => {
    expect(local.parseChat(recorded('ollama/chat-completion.json').body, route())).toEqual({
      content: 'Hi there! How can I help?',
      finishReason: 'stop',
      promptTokens: 26,
      completionTokens: 8,
      providerModel: 'llama3.1',
    });
  });

  it("maps Ollama's unknown-model 404 to not_found (next route)", () => {
    const a = recorded('ollama/error-404-model.json');
    const e = local.parseError(a.status, a.headers, a.body, keyless);
    expect(e.kind).toBe('not_found');
    expect(e.allowsFallback).toBe(true);
  });
});
