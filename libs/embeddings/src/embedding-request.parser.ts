import type { EmbeddingEncoding } from '@gateway/cache';
import { GatewayError } from '@gateway/errors';
import type { EmbeddingRequest } from '@gateway/providers';

export interface ParsedEmbedding {
  readonly model: string;
  readonly request: EmbeddingRequest;
  /** How the client wants its vectors: JSON numbers, or OpenAI's base64 of little-endian float32. */
  readonly encoding: EmbeddingEncoding;
}

const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'model',
  'input',
  'encoding_format',
  'dimensions',
  'user',
]);
/** OpenAI's own limit on inputs per request. */
export const MAX_INPUTS = 2_048;
/** Far above any model's vector length; keeps the number sane. */
const MAX_DIMENSIONS = 65_536;

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

/**
 * Validates an OpenAI embeddings body by hand, naming the offending field like the completion
 * parser. Text only: OpenAI also takes token-id arrays, but ids belong to one tokenizer and a
 * fallback route may use another, so they are refused with a message saying what to send instead.
 */
export function parseEmbeddingBody(body: unknown): ParsedEmbedding {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('body', 'Request body must be a JSON object.');
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!KNOWN_FIELDS.has(key)) throw invalid(key, `Unsupported field '${key}'.`);
  }
  const model = b.model;
  if (typeof model !== 'string' || model.length === 0 || model.length > 256) {
    throw invalid('model', "'model' is required and must be a non-empty string.");
  }
  return {
    model,
    request: {
      input: parseInput(b.input),
      dimensions: parseDimensions(b.dimensions),
      user: parseUser(b.user),
    },
    encoding: parseEncoding(b.encoding_format),
  };
}

function parseInput(value: unknown): string[] {
  if (value === undefined || value === null) {
    throw invalid('input', "'input' is required: a string or an array of strings.");
  }
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalid('input', "'input' must be a non-empty string or a non-empty array of strings.");
  }
  if (list.length > MAX_INPUTS) {
    throw invalid('input', `'input' may hold at most ${MAX_INPUTS} strings.`);
  }
  if (list.some((x) => typeof x === 'number' || Array.isArray(x))) {
    throw invalid(
      'input',
      "Token-id input is not supported: send the text (with LangChain's OpenAIEmbeddings, set check_embedding_ctx_length=False).",
    );
  }
  return list.map((text: unknown, i) => {
    const at = typeof value === 'string' ? 'input' : `input.${i}`;
    if (typeof text !== 'string' || text.length === 0) {
      throw invalid(at, `'${at}' must be a non-empty string.`);
    }
    if (text.includes('\u0000')) throw invalid(at, `'${at}' must not contain NUL characters.`);
    return text;
  });
}

function parseEncoding(value: unknown): EmbeddingEncoding {
  if (value === undefined || value === null || value === 'float') return 'float';
  if (value === 'base64') return 'base64';
  throw invalid('encoding_format', "'encoding_format' must be 'float' or 'base64'.");
}

function parseDimensions(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > MAX_DIMENSIONS
  ) {
    throw invalid(
      'dimensions',
      `'dimensions' must be a whole number between 1 and ${MAX_DIMENSIONS}.`,
    );
  }
  return value;
}

function parseUser(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > 256) {
    throw invalid('user', "'user' must be a string of at most 256 characters.");
  }
  return value;
}
