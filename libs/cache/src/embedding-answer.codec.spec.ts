import { MAX_ENTRY_BYTES } from './cached-answer.codec';
import type { EmbeddingAnswer } from './cache.types';
import { EmbeddingAnswerCodec } from './embedding-answer.codec';

const codec = new EmbeddingAnswerCodec();

function answer(overrides: Partial<EmbeddingAnswer> = {}): EmbeddingAnswer {
  return {
    vectors: [Float32Array.from([0.0023064255, -0.5, 1e-8]), Float32Array.from([1, 2, 3])],
    promptTokens: 7,
    provider: 'openai',
    providerModel: 'text-embedding-3-small',
    costUnits: 1400,
    ...overrides,
  };
}

describe('EmbeddingAnswerCodec', () => {
  it('round-trips the vectors bit for bit, with provider, tokens and cost', async () => {
    const bytes = (await codec.encode(answer()))!;
    expect(bytes[0]).toBe(0x76);
    const back = await codec.decode(bytes);
    expect(back).toEqual(answer());
    expect(back!.vectors[0][0]).toBe(Math.fround(0.0023064255));
  });

  it('stores four bytes per value, not decimals', async () => {
    const vectors = [new Float32Array(1536).fill(0.123456789)];
    const bytes = (await codec.encode(answer({ vectors })))!;
    expect(bytes.length).toBeLessThan(1536 * 4 + 200);
  });

  it.each<[string, Partial<EmbeddingAnswer>]>([
    ['no vectors', { vectors: [] }],
    ['empty vectors', { vectors: [new Float32Array(0)] }],
    ['vectors of different lengths', { vectors: [new Float32Array(2), new Float32Array(3)] }],
    ['a bad token count', { promptTokens: -1 }],
    ['no provider', { provider: '' }],
  ])('does not store an answer with %s', async (_name, change) => {
    expect(await codec.encode(answer(change))).toBeNull();
  });

  it('does not store an answer above the entry cap', async () => {
    const vectors = [new Float32Array(MAX_ENTRY_BYTES / 4)];
    expect(await codec.encode(answer({ vectors }))).toBeNull();
  });

  it('reads bytes it cannot make sense of as a miss, never an error', async () => {
    const good = (await codec.encode(answer()))!;
    for (const bad of [
      Buffer.alloc(0),
      Buffer.from('j{"content":"chat answer"}'),
      good.subarray(0, good.length - 1),
      Buffer.concat([good.subarray(0, 5), Buffer.from('not json'), good.subarray(5)]),
    ]) {
      expect(await codec.decode(bad)).toBeNull();
    }
  });
});
