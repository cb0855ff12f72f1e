import { providerConfig, recorded, route } from '../__fixtures__/fixtures';
import type { EmbeddingRequest } from '@gateway/types';
import { ProviderError } from '../provider.error';
import { OpenAiCompatibleEmbeddingsAdapter } from './openai-compatible-embeddings.adapter';
import { OpenAiEmbeddingsAdapter } from './openai-embeddings.adapter';

const adapter = new OpenAiEmbeddingsAdapter();
const provider = providerConfig({ type: 'openai', apiKey: 'sk-live-abcdefghijklmnop' });
const small = route({ model: 'text-embedding-3-small' });

function request(overrides: Partial<EmbeddingRequest> = {}): EmbeddingRequest {
  return { input: ['first text', 'second text'], dimensions: null, user: null, ...overrides };
}

function parse(file: string, req = request(), a = adapter) {
  return a.parseEmbeddings(recorded(file).body, small, req);
}

function parseBody(body: unknown, req = request()) {
  return () => adapter.parseEmbeddings(JSON.stringify(body), small, req);
}

describe('OpenAiEmbeddingsAdapter', () => {
  it('builds POST /embeddings with a Bearer key, asking for base64, inputs as an array', () => {
    const wire = adapter.embeddingRequest(provider, small, request({ input: ['only'] }));
    expect(wire).toMatchObject({ method: 'POST', path: '/embeddings' });
    expect(wire.headers.authorization).toBe('Bearer sk-live-abcdefghijklmnop');
    expect(JSON.parse(wire.body!)).toEqual({
      model: 'text-embedding-3-small',
      input: ['only'],
      encoding_format: 'base64',
    });
  });

  it('passes dimensions and user through', () => {
    const wire = adapter.embeddingRequest(provider, small, request({ dimensions: 8, user: 'u-1' }));
    expect(JSON.parse(wire.body!)).toMatchObject({ dimensions: 8, user: 'u-1' });
  });

  it('decodes the base64 answer to the same float32 vectors as the JSON-float answer', () => {
    const fromBase64 = parse('openai/embeddings-base64.json');
    const fromFloats = parse('openai/embeddings-float.json');
    expect(fromBase64.vectors).toHaveLength(2);
    expect(fromBase64.vectors[0]).toHaveLength(8);
    expect(fromBase64.vectors).toEqual(fromFloats.vectors);
    expect(fromBase64.vectors[0][0]).toBe(Math.fround(0.0023064255));
    expect(fromBase64.promptTokens).toBe(9);
    expect(fromBase64.providerModel).toBe('text-embedding-3-small');
  });

  it('puts vectors in input order by their index', () => {
    const doc = JSON.parse(recorded('openai/embeddings-float.json').body) as {
      data: Array<{ index: number; embedding: number[] }>;
    };
    const reversed = { ...doc, data: [...doc.data].reverse() };
    const result = adapter.parseEmbeddings(JSON.stringify(reversed), small, request());
    expect(result.vectors[0][0]).toBe(Math.fround(doc.data[0].embedding[0]));
  });

  it.each([
    ['a body that is not JSON', 'not json'],
    [
      'fewer vectors than inputs',
      { data: [{ index: 0, embedding: [1] }], usage: { prompt_tokens: 1 } },
    ],
    [
      'a repeated index',
      {
        data: [
          { index: 0, embedding: [1] },
          { index: 0, embedding: [1] },
        ],
        usage: { prompt_tokens: 1 },
      },
    ],
    [
      'vectors of different lengths',
      {
        data: [
          { index: 0, embedding: [1, 2] },
          { index: 1, embedding: [1] },
        ],
        usage: { prompt_tokens: 1 },
      },
    ],
    [
      'a non-numeric vector',
      {
        data: [
          { index: 0, embedding: ['x'] },
          { index: 1, embedding: [1] },
        ],
        usage: { prompt_tokens: 1 },
      },
    ],
    [
      'base64 that is not whole floats',
      {
        data: [
          { index: 0, embedding: 'AAAAAAA=' },
          { index: 1, embedding: 'AAAAAAA=' },
        ],
        usage: { prompt_tokens: 1 },
      },
    ],
    [
      'no usage',
      {
        data: [
          { index: 0, embedding: [1] },
          { index: 1, embedding: [1] },
        ],
      },
    ],
  ])('refuses %s as an invalid response', (_name, body) => {
    const run =
      typeof body === 'string'
        ? () => adapter.parseEmbeddings(body, small, request())
        : parseBody(body);
    expect(run).toThrow(ProviderError);
    try {
      run();
    } catch (err) {
      expect((err as ProviderError).kind).toBe('invalid_response');
    }
  });

  it('refuses vectors of another length than the request asked for (a route that ignores dimensions)', () => {
    expect(() => parse('openai/embeddings-float.json', request({ dimensions: 4 }))).toThrow(
      /not 4-dimensional/,
    );
    expect(parse('openai/embeddings-float.json', request({ dimensions: 8 })).vectors).toHaveLength(
      2,
    );
  });

  it("maps OpenAI's 400 to a bad request carrying its message, 429 to a retryable error", () => {
    const a = recorded('openai/error-400-embedding-input.json');
    const error = adapter.parseError(a.status, a.headers, a.body, provider);
    expect(error.kind).toBe('bad_request');
    expect(error.message).toMatch(/maximum context length is 8192 tokens/);
    const dims = recorded('openai/error-400-dimensions.json');
    expect(adapter.parseError(dims.status, dims.headers, dims.body, provider)).toMatchObject({
      kind: 'bad_request',
      message: 'This model does not support specifying dimensions.',
    });
    const limited = recorded('openai/error-429-rate-limit.json');
    const e429 = adapter.parseError(limited.status, limited.headers, limited.body, provider);
    expect(e429.kind).toBe('rate_limited');
    expect(e429.isRetryable).toBe(true);
  });
});

describe('OpenAiCompatibleEmbeddingsAdapter (Ollama, vLLM)', () => {
  const local = new OpenAiCompatibleEmbeddingsAdapter();

  it('asks for JSON floats (no encoding_format) and sends no key when none is configured', () => {
    const wire = local.embeddingRequest(
      providerConfig({ type: 'openai-compatible', apiKey: '' }),
      route({ model: 'nomic-embed-text' }),
      request({ input: ['x'] }),
    );
    expect(wire.headers.authorization).toBeUndefined();
    expect(JSON.parse(wire.body!)).toEqual({ model: 'nomic-embed-text', input: ['x'] });
  });

  it("reads Ollama's answer", () => {
    const result = local.parseEmbeddings(
      recorded('ollama/embeddings.json').body,
      route({ model: 'nomic-embed-text' }),
      request({ input: ['x'] }),
    );
    expect(result.vectors).toHaveLength(1);
    expect(result.vectors[0]).toHaveLength(8);
    expect(result.promptTokens).toBe(5);
    expect(result.providerModel).toBe('nomic-embed-text');
  });
});
