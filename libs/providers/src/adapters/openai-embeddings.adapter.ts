import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderConfig, RouteConfig } from '@gateway/config';
import type { EmbeddingRequest, EmbeddingResult } from '@gateway/types';
import { ProviderError } from '../provider.error';
import { float32FromBase64 } from '../vectors';
import type { EmbeddingAdapter } from './embedding-adapter';
import { OpenAiAdapter } from './openai.adapter';
import {
  isObject,
  type JsonObject,
  missingField,
  nonNegativeInt,
  parseJsonObject,
  type WireRequest,
} from './wire';

/**
 * OpenAI Embeddings (`POST {base}/embeddings`,
 * https://platform.openai.com/docs/api-reference/embeddings). Also the base of OpenAI-compatible
 * servers (OpenAiCompatibleEmbeddingsAdapter), which differ only in the encoding they are asked for.
 */
export class OpenAiEmbeddingsAdapter implements EmbeddingAdapter {
  /**
   * OpenAI's base64 answer is about a quarter the size of the JSON floats, with the same float32
   * values (its SDK asks for it by default for that reason).
   */
  protected readonly encodingFormat: 'base64' | null = 'base64';
  /** Errors come in the same `{error: {message, …}}` shape as chat's. */
  private readonly errors = new OpenAiAdapter();

  embeddingRequest(
    provider: ProviderConfig,
    route: RouteConfig,
    request: EmbeddingRequest,
  ): WireRequest {
    const body: JsonObject = { model: route.model, input: [...request.input] };
    if (this.encodingFormat !== null) body.encoding_format = this.encodingFormat;
    if (request.dimensions !== null) body.dimensions = request.dimensions;
    if (request.user !== null) body.user = request.user;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/json',
    };
    if (provider.apiKey !== '') headers.authorization = `Bearer ${provider.apiKey}`;
    return { method: 'POST', path: '/embeddings', headers, body: JSON.stringify(body) };
  }

  parseEmbeddings(text: string, route: RouteConfig, request: EmbeddingRequest): EmbeddingResult {
    const doc = parseJsonObject(text);
    const data = doc.data;
    const count = request.input.length;
    if (!Array.isArray(data) || data.length !== count) {
      throw invalid(`expected ${count} embeddings, got ${Array.isArray(data) ? data.length : 0}`);
    }
    const vectors: Array<Float32Array | undefined> = new Array<Float32Array | undefined>(count);
    data.forEach((item: unknown, i) => {
      if (!isObject(item)) throw missingField(`data[${i}]`);
      // `index` says which input a vector belongs to; servers are not required to keep the order.
      const index = item.index === undefined ? i : item.index;
      if (!nonNegativeInt(index) || index >= count || vectors[index] !== undefined) {
        throw missingField(`data[${i}].index`);
      }
      vectors[index] = vectorOf(item.embedding, i);
    });
    const list = vectors as Float32Array[];
    const length = request.dimensions ?? list[0].length;
    if (length === 0 || list.some((v) => v.length !== length)) {
      throw invalid(
        request.dimensions === null
          ? 'embeddings of different lengths'
          : `embeddings are not ${request.dimensions}-dimensional`,
      );
    }
    const usage = doc.usage;
    if (!isObject(usage) || !nonNegativeInt(usage.prompt_tokens)) throw missingField('usage');
    return {
      vectors: list,
      promptTokens: usage.prompt_tokens,
      providerModel: typeof doc.model === 'string' && doc.model !== '' ? doc.model : route.model,
    };
  }

  parseError(
    status: number,
    headers: IncomingHttpHeaders,
    body: string,
    provider: ProviderConfig,
  ): ProviderError {
    return this.errors.parseError(status, headers, body, provider);
  }
}

/** A JSON array of finite numbers or a base64 string of float32 values. */
function vectorOf(value: unknown, i: number): Float32Array {
  if (typeof value === 'string') {
    const vector = float32FromBase64(value);
    if (vector) return vector;
  } else if (Array.isArray(value) && value.every((x) => typeof x === 'number' && isFinite(x))) {
    return Float32Array.from(value as number[]);
  }
  throw missingField(`data[${i}].embedding`);
}

function invalid(reason: string): ProviderError {
  return new ProviderError('invalid_response', `invalid response: ${reason}`);
}
