import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants as zlib } from 'node:zlib';
import type { AnswerCodec, CachedAnswer } from './cache.types';

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

/** Values at or above this size are brotli-compressed (LLM text typically shrinks 3-4×). */
export const COMPRESS_THRESHOLD_BYTES = 1024;
/** Larger answers are not cached: one entry must not crowd out thousands of others. */
export const MAX_ENTRY_BYTES = 512 * 1024;

/** Only answers that ended normally are worth replaying; a filtered or unknown stop is not. */
const CACHEABLE_FINISH = new Set<string>(['stop', 'length']);

// One format byte in front of the payload, so the encoding can change without a flush.
const PLAIN = 0x6a; // 'j': JSON
const BROTLI = 0x62; // 'b': brotli(JSON)

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Why an answer may not be cached, or null when it may. Guards against storing a truncated,
 * filtered or malformed upstream answer that would then be served for the whole TTL.
 */
export function uncacheableReason(answer: unknown): string | null {
  if (typeof answer !== 'object' || answer === null) return 'not an object';
  const a = answer as Record<string, unknown>;
  if (typeof a.content !== 'string' || a.content.length === 0) return 'empty content';
  if (typeof a.finishReason !== 'string' || !CACHEABLE_FINISH.has(a.finishReason)) {
    return 'finish reason is not stop or length';
  }
  if (!isCount(a.promptTokens) || !isCount(a.completionTokens)) return 'bad token counts';
  if (typeof a.provider !== 'string' || a.provider.length === 0) return 'no provider';
  if (typeof a.providerModel !== 'string' || a.providerModel.length === 0)
    return 'no provider model';
  if (!isCount(a.costUnits)) return 'bad cost';
  return null;
}

/** The stored form of an answer: format byte + JSON, brotli-compressed when large. */
export class CachedAnswerCodec implements AnswerCodec<CachedAnswer> {
  uncacheableReason(answer: CachedAnswer): string | null {
    return uncacheableReason(answer);
  }

  /** The bytes to store, or null when the answer must not be cached. */
  async encode(answer: CachedAnswer): Promise<Buffer | null> {
    if (uncacheableReason(answer) !== null) return null;
    // Copy the known fields only: whatever else the object carries is not part of the contract.
    const json = Buffer.from(
      JSON.stringify({
        content: answer.content,
        finishReason: answer.finishReason,
        promptTokens: answer.promptTokens,
        completionTokens: answer.completionTokens,
        provider: answer.provider,
        providerModel: answer.providerModel,
        costUnits: answer.costUnits,
      }),
    );
    let out = Buffer.concat([Buffer.of(PLAIN), json]);
    if (json.length >= COMPRESS_THRESHOLD_BYTES) {
      const packed = await compress(json, {
        params: {
          [zlib.BROTLI_PARAM_QUALITY]: 4,
          [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
          [zlib.BROTLI_PARAM_SIZE_HINT]: json.length,
        },
      });
      if (packed.length < json.length) out = Buffer.concat([Buffer.of(BROTLI), packed]);
    }
    return out.length <= MAX_ENTRY_BYTES ? out : null;
  }

  /** The answer, or null for bytes this version cannot read (treated as a miss, never an error). */
  async decode(bytes: Buffer): Promise<CachedAnswer | null> {
    if (bytes.length < 2) return null;
    let json: Buffer;
    try {
      if (bytes[0] === PLAIN) json = bytes.subarray(1);
      else if (bytes[0] === BROTLI) json = await decompress(bytes.subarray(1));
      else return null;
      const answer: unknown = JSON.parse(json.toString('utf8'));
      return uncacheableReason(answer) === null ? (answer as CachedAnswer) : null;
    } catch {
      return null;
    }
  }
}
