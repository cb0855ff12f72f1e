import type { EmbeddingAnswer, EmbeddingEncoding } from '@gateway/cache';
import { float32ToBase64 } from '@gateway/providers';
import type { EmbeddingListDto } from './embeddings.dto';

/**
 * OpenAI's embeddings list. Float vectors are the float32 values as JSON numbers (what OpenAI sends:
 * `-0.006929283495992422`); base64 is their little-endian bytes, which the official SDK decodes.
 * `model` is the alias the client asked for, as on the completion routes.
 */
export function embeddingsResponse(
  alias: string,
  answer: EmbeddingAnswer,
  encoding: EmbeddingEncoding,
): EmbeddingListDto {
  return {
    object: 'list',
    data: answer.vectors.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? float32ToBase64(vector) : Array.from(vector),
    })),
    model: alias,
    usage: { prompt_tokens: answer.promptTokens, total_tokens: answer.promptTokens },
  };
}
