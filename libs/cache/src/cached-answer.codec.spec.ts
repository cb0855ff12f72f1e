import type { CachedAnswer } from './cache.types';
import {
  CachedAnswerCodec,
  COMPRESS_THRESHOLD_BYTES,
  MAX_ENTRY_BYTES,
  uncacheableReason,
} from './cached-answer.codec';

const answer: CachedAnswer = {
  content: 'Paris is the capital of France.',
  finishReason: 'stop',
  promptTokens: 12,
  completionTokens: 8,
  provider: 'openai',
  providerModel: 'gpt-4-0613',
  costUnits: 8_400_000,
};

describe('CachedAnswerCodec', () => {
  const codec = new CachedAnswerCodec();

  it('round-trips a small answer uncompressed', async () => {
    const bytes = await codec.encode(answer);
    expect(bytes).not.toBeNull();
    expect(bytes![0]).toBe(0x6a);
    expect(await codec.decode(bytes!)).toEqual(answer);
  });

  it('compresses a large answer and restores it exactly', async () => {
    const big = { ...answer, content: 'The quick brown fox jumps over the lazy dog. '.repeat(200) };
    const bytes = await codec.encode(big);
    expect(bytes![0]).toBe(0x62);
    expect(bytes!.length).toBeLessThan(big.content.length / 4);
    expect(big.content.length).toBeGreaterThan(COMPRESS_THRESHOLD_BYTES);
    expect(await codec.decode(bytes!)).toEqual(big);
  });

  it('keeps only the contract fields', async () => {
    const extra = { ...answer, secret: 'x' } as CachedAnswer;
    expect(await codec.decode((await codec.encode(extra))!)).toEqual(answer);
  });

  it('refuses answers too large to cache even compressed', async () => {
    const random = Buffer.from(Array.from({ length: MAX_ENTRY_BYTES }, () => Math.random() * 256));
    expect(await codec.encode({ ...answer, content: random.toString('base64') })).toBeNull();
  });

  it.each<[string, Record<string, unknown>]>([
    ['empty content', { content: '' }],
    ['content not a string', { content: 42 }],
    ['filtered', { finishReason: 'content_filter' }],
    ['unknown finish', { finishReason: 'other' }],
    ['negative tokens', { promptTokens: -1 }],
    ['fractional tokens', { completionTokens: 1.5 }],
    ['no provider', { provider: '' }],
    ['no provider model', { providerModel: undefined }],
    ['no cost', { costUnits: undefined }],
  ])('never encodes a malformed answer (%s)', async (_name, change) => {
    const bad: CachedAnswer = { ...answer, ...change };
    expect(uncacheableReason(bad)).not.toBeNull();
    expect(await codec.encode(bad)).toBeNull();
  });

  it('accepts a length-truncated answer (max_tokens is part of the key)', async () => {
    expect(await codec.encode({ ...answer, finishReason: 'length' })).not.toBeNull();
  });

  it('reads unknown or corrupt bytes as nothing', async () => {
    expect(await codec.decode(Buffer.from('x{}'))).toBeNull();
    expect(await codec.decode(Buffer.from('j{not json'))).toBeNull();
    expect(await codec.decode(Buffer.from('b\x00\x01garbage'))).toBeNull();
    expect(await codec.decode(Buffer.from('j{"content":"x"}'))).toBeNull();
    expect(await codec.decode(Buffer.alloc(0))).toBeNull();
  });
});
