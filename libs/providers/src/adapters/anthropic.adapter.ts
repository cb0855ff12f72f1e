import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderConfig, RouteConfig } from '@gateway/config';
import type { ChatRequest, ChatResult, FinishReason } from '../chat.types';
import { ProviderError } from '../provider.error';
import type { ChatAdapter } from './chat-adapter';
import {
  isObject,
  type JsonObject,
  missingField,
  nonNegativeInt,
  parseJsonObject,
  parseRetryAfter,
  safeProviderMessage,
  tryParseJsonObject,
  type WireRequest,
} from './wire';

/** The API version this adapter speaks (https://docs.anthropic.com/en/api/versioning). */
export const ANTHROPIC_VERSION = '2023-06-01';

const STOP_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/**
 * Anthropic Messages (`POST {base}/v1/messages`, https://docs.anthropic.com/en/api/messages).
 * Differences from the unified request it absorbs: system messages go to the top-level `system`;
 * `max_tokens` is required (the route's maximum output when the client sent none); temperature is
 * 0–1 (higher values are clamped, so a fallback from OpenAI does not turn into a 400); penalties
 * and `seed` do not exist there and are dropped; whitespace-only stop sequences are refused there
 * and are dropped too.
 */
export class AnthropicAdapter implements ChatAdapter {
  chatRequest(provider: ProviderConfig, route: RouteConfig, request: ChatRequest): WireRequest {
    const system = request.messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('\n\n');
    const body: JsonObject = {
      model: route.model,
      max_tokens: request.maxTokens ?? route.price.maxOutputTokens,
      messages: request.messages
        .filter((m) => m.role !== 'system')
        .map((m) => ({ role: m.role, content: m.content })),
    };
    if (system !== '') body.system = system;
    if (request.temperature !== null) body.temperature = Math.min(1, request.temperature);
    if (request.topP !== null) body.top_p = request.topP;
    const stops = (request.stop ?? []).filter((s) => s.trim() !== '');
    if (stops.length > 0) body.stop_sequences = stops;
    if (request.user !== null) body.metadata = { user_id: request.user };
    return {
      method: 'POST',
      path: '/v1/messages',
      headers: this.headers(provider, true),
      body: JSON.stringify(body),
    };
  }

  parseChat(text: string, route: RouteConfig): ChatResult {
    const doc = parseJsonObject(text);
    if (!Array.isArray(doc.content)) throw missingField('content');
    const content = (doc.content as unknown[])
      .filter((b): b is JsonObject => isObject(b) && b.type === 'text')
      .map((b) => {
        if (typeof b.text !== 'string') throw missingField('content[].text');
        return b.text;
      })
      .join('');
    const usage = doc.usage;
    if (
      !isObject(usage) ||
      !nonNegativeInt(usage.input_tokens) ||
      !nonNegativeInt(usage.output_tokens)
    ) {
      throw missingField('usage');
    }
    // Prompt-cache reads and writes are input tokens too; Anthropic reports them apart.
    const cacheTokens =
      (nonNegativeInt(usage.cache_creation_input_tokens) ? usage.cache_creation_input_tokens : 0) +
      (nonNegativeInt(usage.cache_read_input_tokens) ? usage.cache_read_input_tokens : 0);
    const reason = typeof doc.stop_reason === 'string' ? doc.stop_reason : '';
    return {
      content,
      finishReason: STOP_REASONS[reason] ?? 'other',
      promptTokens: usage.input_tokens + cacheTokens,
      completionTokens: usage.output_tokens,
      providerModel: typeof doc.model === 'string' && doc.model !== '' ? doc.model : route.model,
    };
  }

  parseError(
    status: number,
    headers: IncomingHttpHeaders,
    body: string,
    provider: ProviderConfig,
  ): ProviderError {
    // `{type: "error", error: {type, message}}`; 529 overloaded_error is a 5xx like any other.
    const doc = tryParseJsonObject(body);
    const error = doc?.error;
    return ProviderError.fromStatus(
      status,
      safeProviderMessage(isObject(error) ? error.message : null, [provider.apiKey]),
      parseRetryAfter(headers),
    );
  }

  healthRequest(provider: ProviderConfig, path: string): WireRequest {
    return { method: 'GET', path, headers: this.headers(provider, false), body: null };
  }

  private headers(provider: ProviderConfig, withBody: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'anthropic-version': ANTHROPIC_VERSION,
    };
    if (withBody) headers['content-type'] = 'application/json';
    if (provider.apiKey !== '') headers['x-api-key'] = provider.apiKey;
    return headers;
  }
}
