import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderConfig, RouteConfig } from '@gateway/config';
import type { ChatRequest, ChatResult, ChatStreamEvent, FinishReason } from '@gateway/types';
import { ProviderError, type ProviderErrorKind } from '../provider.error';
import type { ChatAdapter, StreamDecoder } from './chat-adapter';
import { parseStreamJson } from './openai.adapter';
import type { SseEvent } from './sse.parser';
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
  chatRequest(
    provider: ProviderConfig,
    route: RouteConfig,
    request: ChatRequest,
    stream = false,
  ): WireRequest {
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
    const headers = this.headers(provider, true);
    if (stream) {
      // Anthropic streams always carry usage (message_start and message_delta).
      body.stream = true;
      headers.accept = 'text/event-stream';
    }
    return { method: 'POST', path: '/v1/messages', headers, body: JSON.stringify(body) };
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
    const reason = typeof doc.stop_reason === 'string' ? doc.stop_reason : '';
    return {
      content,
      finishReason: STOP_REASONS[reason] ?? 'other',
      promptTokens: inputTokens(usage),
      completionTokens: usage.output_tokens,
      providerModel: typeof doc.model === 'string' && doc.model !== '' ? doc.model : route.model,
    };
  }

  streamDecoder(): StreamDecoder {
    return new AnthropicStreamDecoder();
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

/** Prompt-cache reads and writes are input tokens too; Anthropic reports them apart. */
function inputTokens(usage: JsonObject): number {
  const base = nonNegativeInt(usage.input_tokens) ? usage.input_tokens : 0;
  const created = usage.cache_creation_input_tokens;
  const read = usage.cache_read_input_tokens;
  return base + (nonNegativeInt(created) ? created : 0) + (nonNegativeInt(read) ? read : 0);
}

/** In-band error types (https://docs.anthropic.com/en/api/errors) → the router's error kinds. */
const STREAM_ERROR_KINDS: Readonly<Record<string, ProviderErrorKind>> = {
  rate_limit_error: 'rate_limited',
  overloaded_error: 'server',
  api_error: 'server',
};

/**
 * Messages streaming events (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
 * `message_start` (model, input tokens), `content_block_start` / `content_block_delta` (text;
 * other block kinds are not text and are skipped) / `content_block_stop`, `message_delta` (stop
 * reason, cumulative output tokens), `message_stop`, `ping`, and `error`. Unknown event types are
 * ignored, as Anthropic asks of clients.
 */
export class AnthropicStreamDecoder implements StreamDecoder {
  decode(event: SseEvent): ChatStreamEvent[] {
    const doc = parseStreamJson(event.data);
    const type = typeof doc.type === 'string' ? doc.type : event.event;
    switch (type) {
      case 'message_start': {
        const message = doc.message;
        if (!isObject(message)) throw missingField('message');
        const model =
          typeof message.model === 'string' && message.model !== '' ? message.model : null;
        const out: ChatStreamEvent[] = [{ kind: 'start', providerModel: model }];
        const usage = message.usage;
        if (isObject(usage) && nonNegativeInt(usage.input_tokens)) {
          out.push({
            kind: 'usage',
            promptTokens: inputTokens(usage),
            completionTokens: nonNegativeInt(usage.output_tokens) ? usage.output_tokens : null,
          });
        }
        return out;
      }
      case 'content_block_start': {
        const block = doc.content_block;
        if (isObject(block) && block.type === 'text' && typeof block.text === 'string') {
          return block.text === '' ? [] : [{ kind: 'text', text: block.text }];
        }
        return [];
      }
      case 'content_block_delta': {
        const delta = doc.delta;
        if (!isObject(delta)) throw missingField('delta');
        if (delta.type !== 'text_delta') return [];
        if (typeof delta.text !== 'string') throw missingField('delta.text');
        return delta.text === '' ? [] : [{ kind: 'text', text: delta.text }];
      }
      case 'message_delta': {
        const out: ChatStreamEvent[] = [];
        const delta = doc.delta;
        if (isObject(delta) && typeof delta.stop_reason === 'string') {
          out.push({ kind: 'finish', finishReason: STOP_REASONS[delta.stop_reason] ?? 'other' });
        }
        const usage = doc.usage;
        if (isObject(usage)) {
          if (!nonNegativeInt(usage.output_tokens)) throw missingField('usage.output_tokens');
          out.push({
            kind: 'usage',
            // Newer API versions repeat the (cumulative) input counts here.
            promptTokens: nonNegativeInt(usage.input_tokens) ? inputTokens(usage) : null,
            completionTokens: usage.output_tokens,
          });
        }
        return out;
      }
      case 'message_stop':
        return [{ kind: 'end' }];
      case 'error': {
        const error = doc.error;
        const errType = isObject(error) && typeof error.type === 'string' ? error.type : '';
        const message = safeProviderMessage(isObject(error) ? error.message : null, []);
        throw new ProviderError(
          STREAM_ERROR_KINDS[errType] ?? 'server',
          `stream error: ${errType || 'unknown'}${message === null ? '' : ` (${message})`}`,
        );
      }
      default:
        // ping, content_block_stop, and event types added after this adapter was written.
        return [];
    }
  }
}
