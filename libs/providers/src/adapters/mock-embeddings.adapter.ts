import { createHash } from 'node:crypto';
import type { ProviderConfig, RouteConfig } from '@gateway/config';
import type { EmbeddingRequest, EmbeddingResult } from '@gateway/types';
import { sleep } from '../resilience/sleep';

/** The vector length of a mock route that declares no `dimensions`. */
export const MOCK_DEFAULT_DIMENSIONS = 256;

/**
 * The `mock` provider's embeddings: no network, no key. Each vector is a pure function of the
 * route's model, the text and the length (same input → same vector, bit for bit), unit length like
 * the real models' output, so demos and tests can compare and cache them; `latency_ms` simulates
 * the provider's wait.
 */
export class MockEmbeddingsAdapter {
  async embed(
    provider: ProviderConfig,
    route: RouteConfig,
    request: EmbeddingRequest,
    signal?: AbortSignal,
  ): Promise<EmbeddingResult> {
    await sleep(provider.latencyMs, signal);
    return this.answer(route, request);
  }

  answer(route: RouteConfig, request: EmbeddingRequest): EmbeddingResult {
    const length = request.dimensions ?? route.dimensions ?? MOCK_DEFAULT_DIMENSIONS;
    return {
      vectors: request.input.map((text) => mockVector(route.model, text, length)),
      // About four characters per token, like the mock's chat accounting.
      promptTokens: request.input.reduce(
        (n, text) => n + Math.max(1, Math.ceil(text.length / 4)),
        0,
      ),
      providerModel: route.model,
    };
  }
}

/** SHA-256 in counter mode → values in [-1, 1) → scaled to unit length. */
function mockVector(model: string, text: string, length: number): Float32Array {
  const vector = new Float32Array(length);
  let norm = 0;
  for (let block = 0; block * 16 < length; block++) {
    const digest = createHash('sha256').update(`${model}\u0000${block}\u0000${text}`).digest();
    for (let j = 0; j < 16 && block * 16 + j < length; j++) {
      const x = digest.readUInt16LE(j * 2) / 32_768 - 1;
      vector[block * 16 + j] = x;
      norm += x * x;
    }
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < length; i++) vector[i] *= scale;
  return vector;
}
