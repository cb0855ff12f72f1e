import { MAX_ENTRY_BYTES } from './cached-answer.codec';
import type { AnswerCodec, EmbeddingAnswer } from './cache.types';

/** Format byte of a stored embeddings answer ('v'); chat answers use 'j' and 'b'. */
const VECTORS = 0x76;
/** Format byte + the header's length (uint32, big-endian). */
const PREAMBLE_BYTES = 5;

interface Header {
  readonly count: number;
  readonly dimensions: number;
  readonly promptTokens: number;
  readonly provider: string;
  readonly providerModel: string;
  readonly costUnits: number;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

/** Why an embeddings answer may not be cached, or null when it may. */
export function uncacheableEmbeddingReason(answer: EmbeddingAnswer): string | null {
  const { vectors } = answer;
  if (vectors.length === 0 || vectors[0].length === 0) return 'no vectors';
  if (vectors.some((v) => v.length !== vectors[0].length)) return 'vectors of different lengths';
  if (!isCount(answer.promptTokens) || !isCount(answer.costUnits)) return 'bad tokens or cost';
  if (!isName(answer.provider) || !isName(answer.providerModel)) return 'no provider';
  return null;
}

/**
 * The stored form of an embeddings answer: 'v', the header's length, a JSON header (counts,
 * provider, tokens, cost), then every vector's float32 values little-endian, back to back — the
 * bytes OpenAI's base64 encoding carries, a quarter to a fifth of their size as JSON decimals, and
 * exact. Not compressed: float mantissas do not compress.
 */
export class EmbeddingAnswerCodec implements AnswerCodec<EmbeddingAnswer> {
  uncacheableReason(answer: EmbeddingAnswer): string | null {
    return uncacheableEmbeddingReason(answer);
  }

  encode(answer: EmbeddingAnswer): Promise<Buffer | null> {
    if (uncacheableEmbeddingReason(answer) !== null) return Promise.resolve(null);
    const { vectors } = answer;
    const header: Header = {
      count: vectors.length,
      dimensions: vectors[0].length,
      promptTokens: answer.promptTokens,
      provider: answer.provider,
      providerModel: answer.providerModel,
      costUnits: answer.costUnits,
    };
    const json = Buffer.from(JSON.stringify(header));
    const size = PREAMBLE_BYTES + json.length + header.count * header.dimensions * 4;
    if (size > MAX_ENTRY_BYTES) return Promise.resolve(null);
    const out = Buffer.allocUnsafe(size);
    out[0] = VECTORS;
    out.writeUInt32BE(json.length, 1);
    json.copy(out, PREAMBLE_BYTES);
    let at = PREAMBLE_BYTES + json.length;
    for (const vector of vectors) {
      for (let i = 0; i < vector.length; i++, at += 4) out.writeFloatLE(vector[i], at);
    }
    return Promise.resolve(out);
  }

  decode(bytes: Buffer): Promise<EmbeddingAnswer | null> {
    return Promise.resolve(decodeVectors(bytes));
  }
}

function decodeVectors(bytes: Buffer): EmbeddingAnswer | null {
  if (bytes.length < PREAMBLE_BYTES || bytes[0] !== VECTORS) return null;
  const headerEnd = PREAMBLE_BYTES + bytes.readUInt32BE(1);
  if (headerEnd > bytes.length) return null;
  let header: Partial<Header>;
  try {
    header = JSON.parse(bytes.subarray(PREAMBLE_BYTES, headerEnd).toString('utf8')) as Header;
  } catch {
    return null;
  }
  const { count, dimensions } = header;
  if (!isCount(count) || !isCount(dimensions) || count === 0 || dimensions === 0) return null;
  if (bytes.length - headerEnd !== count * dimensions * 4) return null;
  const vectors: Float32Array[] = [];
  let at = headerEnd;
  for (let i = 0; i < count; i++) {
    const vector = new Float32Array(dimensions);
    for (let j = 0; j < dimensions; j++, at += 4) vector[j] = bytes.readFloatLE(at);
    vectors.push(vector);
  }
  const answer: EmbeddingAnswer = {
    vectors,
    promptTokens: header.promptTokens as number,
    provider: header.provider as string,
    providerModel: header.providerModel as string,
    costUnits: header.costUnits as number,
  };
  return uncacheableEmbeddingReason(answer) === null ? answer : null;
}
