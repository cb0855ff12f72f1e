import { route } from '../__fixtures__/fixtures';
import { MOCK_DEFAULT_DIMENSIONS, MockEmbeddingsAdapter } from './mock-embeddings.adapter';

const mock = new MockEmbeddingsAdapter();
const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('MockEmbeddingsAdapter', () => {
  it('returns one deterministic unit vector per input, different texts apart', () => {
    const req = { input: ['alpha', 'beta', 'alpha'], dimensions: null, user: null };
    const a = mock.answer(route({ model: 'mock-embed-1' }), req);
    const b = mock.answer(route({ model: 'mock-embed-1' }), req);
    expect(a.vectors).toHaveLength(3);
    expect(a.vectors[0]).toHaveLength(MOCK_DEFAULT_DIMENSIONS);
    expect(a.vectors).toEqual(b.vectors);
    expect(a.vectors[0]).toEqual(a.vectors[2]);
    expect(a.vectors[0]).not.toEqual(a.vectors[1]);
    for (const v of a.vectors) expect(norm(v)).toBeCloseTo(1, 5);
    expect(a.promptTokens).toBe(2 + 1 + 2); // ⌈chars ÷ 4⌉ per input
  });

  it("honours the request's dimensions, then the route's", () => {
    const input = ['x'];
    expect(
      mock.answer(route({ dimensions: 64 }), { input, dimensions: 10, user: null }).vectors[0],
    ).toHaveLength(10);
    expect(
      mock.answer(route({ dimensions: 64 }), { input, dimensions: null, user: null }).vectors[0],
    ).toHaveLength(64);
  });

  it('gives another model other vectors', () => {
    const req = { input: ['same'], dimensions: 16, user: null };
    expect(mock.answer(route({ model: 'a' }), req).vectors[0]).not.toEqual(
      mock.answer(route({ model: 'b' }), req).vectors[0],
    );
  });
});
