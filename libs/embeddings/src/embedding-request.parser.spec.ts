import type { GatewayError } from '@gateway/errors';
import { MAX_INPUTS, parseEmbeddingBody } from './embedding-request.parser';

function refusal(body: unknown): { param: string | null; message: string } {
  try {
    parseEmbeddingBody(body);
  } catch (err) {
    const e = err as GatewayError;
    expect(e.code).toBe('invalid_request');
    return { param: e.param ?? null, message: e.message };
  }
  throw new Error('expected a refusal');
}

describe('parseEmbeddingBody', () => {
  it('reads a single string as one input, float by default', () => {
    expect(parseEmbeddingBody({ model: 'm', input: 'hello' })).toEqual({
      model: 'm',
      request: { input: ['hello'], dimensions: null, user: null },
      encoding: 'float',
    });
  });

  it('reads an array of strings, base64, dimensions and user', () => {
    expect(
      parseEmbeddingBody({
        model: 'm',
        input: ['a', 'b'],
        encoding_format: 'base64',
        dimensions: 256,
        user: 'u-1',
      }),
    ).toEqual({
      model: 'm',
      request: { input: ['a', 'b'], dimensions: 256, user: 'u-1' },
      encoding: 'base64',
    });
  });

  it('treats explicit nulls as absent', () => {
    expect(
      parseEmbeddingBody({
        model: 'm',
        input: 'x',
        encoding_format: null,
        dimensions: null,
        user: null,
      }),
    ).toMatchObject({ encoding: 'float', request: { dimensions: null, user: null } });
  });

  it.each<[string, unknown, string]>([
    ['a non-object body', ['x'], 'body'],
    ['an unknown field', { model: 'm', input: 'x', messages: [] }, 'messages'],
    ['no model', { input: 'x' }, 'model'],
    ['no input', { model: 'm' }, 'input'],
    ['an empty input list', { model: 'm', input: [] }, 'input'],
    ['an empty string', { model: 'm', input: '' }, 'input'],
    ['an empty string in a list', { model: 'm', input: ['a', ''] }, 'input.1'],
    ['a non-string in a list', { model: 'm', input: ['a', {}] }, 'input.1'],
    ['a NUL character', { model: 'm', input: ['a\u0000b'] }, 'input.0'],
    ['token ids', { model: 'm', input: [1, 2, 3] }, 'input'],
    ['lists of token ids', { model: 'm', input: [[1, 2]] }, 'input'],
    ['an unknown encoding', { model: 'm', input: 'x', encoding_format: 'int8' }, 'encoding_format'],
    ['zero dimensions', { model: 'm', input: 'x', dimensions: 0 }, 'dimensions'],
    ['fractional dimensions', { model: 'm', input: 'x', dimensions: 1.5 }, 'dimensions'],
    ['a non-string user', { model: 'm', input: 'x', user: 1 }, 'user'],
  ])('refuses %s, naming the field', (_name, body, param) => {
    expect(refusal(body).param).toBe(param);
  });

  it('says what to send instead of token ids', () => {
    expect(refusal({ model: 'm', input: [[1, 2]] }).message).toMatch(/send the text/);
  });

  it(`accepts ${MAX_INPUTS} inputs and refuses one more`, () => {
    const many = Array.from({ length: MAX_INPUTS }, (_, i) => `t${i}`);
    expect(parseEmbeddingBody({ model: 'm', input: many }).request.input).toHaveLength(MAX_INPUTS);
    expect(refusal({ model: 'm', input: [...many, 'x'] }).param).toBe('input');
  });
});
