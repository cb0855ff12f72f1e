import { createHash } from 'node:crypto';
import type { TenantContext } from '@gateway/context';
import type { ChatRequest, EmbeddingRequest } from '@gateway/types';
import { CacheKeyBuilder, NON_KEY_PARAMS } from './cache-key.builder';
import { canonicalJson } from './canonical-json';
import { EmbeddingAnswerCodec } from './embedding-answer.codec';

function tenant(tenantId: string): TenantContext {
  return {
    tenantId,
    apiKeyId: 'k',
    name: 't',
    rateLimit: 100,
    tokensPerMinute: null,
    monthlyBudget: null,
    providerPreferences: [],
    allowedModels: null,
    cacheTtlSeconds: null,
    alertThresholds: [],
    alertWebhookUrl: null,
    alertWebhookSecret: null,
    version: 1,
  };
}

const base: ChatRequest = {
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Hello' },
  ],
  maxTokens: 100,
  temperature: 0.7,
  topP: 0.9,
  stop: ['\n'],
  presencePenalty: 0.1,
  frequencyPenalty: 0.2,
  seed: 42,
  user: 'alice',
};

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[2,{"y":null,"z":1}]},"b":1}',
    );
  });

  it('keeps array order and drops undefined members', () => {
    expect(canonicalJson({ a: [3, 1, 2], b: undefined })).toBe('{"a":[3,1,2]}');
  });

  it('refuses values JSON cannot represent', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ a: () => 1 })).toThrow(TypeError);
  });
});

describe('CacheKeyBuilder', () => {
  const builder = new CacheKeyBuilder();
  const key = (t: string, model: string, req: ChatRequest) =>
    builder.build(tenant(t), model, req).digest;

  it('is a SHA-256 hex digest bound to the tenant', () => {
    const k = builder.build(tenant('t1'), 'gpt-4', base);
    expect(k.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(k.tenantId).toBe('t1');
  });

  it('ignores property order', () => {
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as unknown as ChatRequest;
    const messages = base.messages.map((m) => ({ content: m.content, role: m.role }));
    expect(key('t1', 'gpt-4', { ...reordered, messages })).toBe(key('t1', 'gpt-4', base));
  });

  it('differs by tenant and by requested model alias', () => {
    expect(key('t2', 'gpt-4', base)).not.toBe(key('t1', 'gpt-4', base));
    expect(key('t1', 'gpt-4o', base)).not.toBe(key('t1', 'gpt-4', base));
  });

  it.each<[string, Partial<ChatRequest>]>([
    ['messages', { messages: [{ role: 'user', content: 'Hello!' }] }],
    ['message order', { messages: [...base.messages].reverse() }],
    ['message role', { messages: [base.messages[0], { role: 'assistant', content: 'Hello' }] }],
    ['maxTokens', { maxTokens: 101 }],
    ['temperature', { temperature: 0.8 }],
    ['topP', { topP: 1 }],
    ['stop', { stop: ['END'] }],
    ['presencePenalty', { presencePenalty: 0 }],
    ['frequencyPenalty', { frequencyPenalty: 0 }],
    ['seed', { seed: 43 }],
    ['temperature removed', { temperature: null }],
  ])('changes when %s changes', (_name, change) => {
    expect(key('t1', 'gpt-4', { ...base, ...change })).not.toBe(key('t1', 'gpt-4', base));
  });

  it('ignores user, and only user', () => {
    expect([...NON_KEY_PARAMS]).toEqual(['user']);
    expect(key('t1', 'gpt-4', { ...base, user: 'bob' })).toBe(key('t1', 'gpt-4', base));
    expect(key('t1', 'gpt-4', { ...base, user: null })).toBe(key('t1', 'gpt-4', base));
  });

  it('counts a parameter it has never heard of', () => {
    const future = { ...base, responseFormat: 'json' } as unknown as ChatRequest;
    expect(key('t1', 'gpt-4', future)).not.toBe(key('t1', 'gpt-4', base));
  });

  it('treats an explicit null like an absent parameter', () => {
    const { seed: _seed, ...withoutSeed } = base;
    expect(key('t1', 'gpt-4', { ...base, seed: null })).toBe(
      key('t1', 'gpt-4', withoutSeed as unknown as ChatRequest),
    );
  });

  it('cannot be built without a tenant', () => {
    expect(() => builder.build(tenant(''), 'gpt-4', base)).toThrow(/tenant/);
    expect(() => builder.build(undefined as unknown as TenantContext, 'gpt-4', base)).toThrow(
      /tenant/,
    );
  });
});

describe('CacheKeyBuilder: embeddings', () => {
  const builder = new CacheKeyBuilder();
  const request: EmbeddingRequest = { input: ['a', 'b'], dimensions: 256, user: 'alice' };
  const key = (
    change: Partial<EmbeddingRequest> = {},
    encoding: 'float' | 'base64' = 'float',
    t = 't1',
    model = 'embed',
  ) => builder.buildEmbeddings(tenant(t), model, { ...request, ...change }, encoding).digest;

  it('leaves chat keys as they were before embeddings (stored entries stay readable)', () => {
    const { user: _user, ...params } = base;
    const before = createHash('sha256')
      .update(canonicalJson({ v: 1, tenant: 't1', model: 'gpt-4', params }))
      .digest('hex');
    expect(builder.build(tenant('t1'), 'gpt-4', base).digest).toBe(before);
  });

  it.each<[string, () => string]>([
    ['the input', () => key({ input: ['a', 'c'] })],
    ['the input order', () => key({ input: ['b', 'a'] })],
    ['one input vs the same in a list of two', () => key({ input: ['a'] })],
    ['dimensions', () => key({ dimensions: 128 })],
    ['dimensions removed', () => key({ dimensions: null })],
    ['the encoding format', () => key({}, 'base64')],
    ['the tenant', () => key({}, 'float', 't2')],
    ['the model alias', () => key({}, 'float', 't1', 'embed-large')],
  ])('changes with %s', (_name, other) => {
    expect(other()).not.toBe(key());
  });

  it('ignores user', () => {
    expect(key({ user: 'bob' })).toBe(key());
    expect(key({ user: null })).toBe(key());
  });

  it('never equals a chat key, and carries the vectors codec', () => {
    const k = builder.buildEmbeddings(tenant('t1'), 'embed', request, 'float');
    expect(k.tenantId).toBe('t1');
    expect(k.codec).toBeInstanceOf(EmbeddingAnswerCodec);
    const lookalike = { messages: request.input } as unknown as ChatRequest;
    expect(builder.build(tenant('t1'), 'embed', lookalike).digest).not.toBe(k.digest);
  });

  it('cannot be built without a tenant', () => {
    expect(() => builder.buildEmbeddings(tenant(''), 'embed', request, 'float')).toThrow(/tenant/);
  });
});
