import { embeddingsResponse } from './embeddings.response';

const answer = {
  vectors: [Float32Array.from([0.0023064255, -1]), Float32Array.from([0.5, 0.25])],
  promptTokens: 6,
  provider: 'openai',
  providerModel: 'text-embedding-3-small',
  costUnits: 120,
};

describe('embeddingsResponse', () => {
  it("answers OpenAI's list with float32 values as JSON numbers", () => {
    const body = embeddingsResponse('small', answer, 'float');
    expect(body).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [Math.fround(0.0023064255), -1] },
        { object: 'embedding', index: 1, embedding: [0.5, 0.25] },
      ],
      model: 'small',
      usage: { prompt_tokens: 6, total_tokens: 6 },
    });
  });

  it('answers base64 of little-endian float32, as OpenAI does', () => {
    const body = embeddingsResponse('small', answer, 'base64');
    const bytes = Buffer.from(body.data[1].embedding as string, 'base64');
    expect(bytes.length).toBe(8);
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4)]).toEqual([0.5, 0.25]);
  });
});
