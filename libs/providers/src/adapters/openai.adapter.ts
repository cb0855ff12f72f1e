import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderConfig, RouteConfig } from '@gateway/config';
import type { ChatRequest, ChatResult, ChatStreamEvent, FinishReason } from '@gateway/types';
import { ProviderError } from '../provider.error';
import type { ChatAdapter, StreamDecoder } from './chat-adapter';
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

const FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content_filter',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
};

/**
 * OpenAI Chat Completions (`POST {base}/chat/completions`,
 * https://platform.openai.com/docs/api-reference/chat). Also the base of every OpenAI-compatible
 * server, which differ only in the details overridden by OpenAiCompatibleAdapter.
 */
export class OpenAiAdapter implements ChatAdapter {
  /**
   * OpenAI's current models refuse `max_tokens` ("use max_completion_tokens"); compatible servers
   * (Ollama, vLLM, llama.cpp) only know `max_tokens`.
   */
  protected readonly maxTokensField: string = 'max_completion_tokens';

  chatRequest(
    provider: ProviderConfig,
    route: RouteConfig,
    request: ChatRequest,
    stream = false,
  ): WireRequest {
    const body: JsonObject = {
      model: route.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    };
    if (request.maxTokens !== null) body[this.maxTokensField] = request.maxTokens;
    if (request.temperature !== null) body.temperature = request.temperature;
    if (request.topP !== null) body.top_p = request.topP;
    if (request.stop !== null && request.stop.length > 0) body.stop = [...request.stop];
    if (request.presencePenalty !== null) body.presence_penalty = request.presencePenalty;
    if (request.frequencyPenalty !== null) body.frequency_penalty = request.frequencyPenalty;
    if (request.seed !== null) body.seed = request.seed;
    if (request.user !== null) body.user = request.user;
    const headers = this.headers(provider, true);
    if (stream) {
      body.stream = true;
      // Without it a stream carries no usage at all; the last chunk then holds the exact counts.
      body.stream_options = { include_usage: true };
      headers.accept = 'text/event-stream';
    }
    return { method: 'POST', path: '/chat/completions', headers, body: JSON.stringify(body) };
  }

  parseChat(text: string, route: RouteConfig): ChatResult {
    const doc = parseJsonObject(text);
    const choices = doc.choices;
    if (!Array.isArray(choices) || choices.length === 0 || !isObject(choices[0])) {
      throw missingField('choices');
    }
    const choice: JsonObject = choices[0];
    const message = choice.message;
    if (!isObject(message)) throw missingField('choices[0].message');
    const refusal = typeof message.refusal === 'string' ? message.refusal : null;
    let content: string;
    if (typeof message.content === 'string') content = message.content;
    else if (message.content === null) content = refusal ?? '';
    else throw missingField('choices[0].message.content');

    const usage = doc.usage;
    if (
      !isObject(usage) ||
      !nonNegativeInt(usage.prompt_tokens) ||
      !nonNegativeInt(usage.completion_tokens)
    ) {
      throw missingField('usage');
    }
    const reason = typeof choice.finish_reason === 'string' ? choice.finish_reason : '';
    return {
      content,
      finishReason:
        refusal !== null && message.content === null
          ? 'content_filter'
          : (FINISH_REASONS[reason] ?? 'other'),
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      providerModel: typeof doc.model === 'string' && doc.model !== '' ? doc.model : route.model,
    };
  }

  streamDecoder(): StreamDecoder {
    return new OpenAiStreamDecoder();
  }

  parseError(
    status: number,
    headers: IncomingHttpHeaders,
    body: string,
    provider: ProviderConfig,
  ): ProviderError {
    // `{error: {message, type, param, code}}`; some compatible servers send `{error: "text"}`.
    const doc = tryParseJsonObject(body);
    const error = doc?.error;
    const raw = isObject(error) ? error.message : error;
    return ProviderError.fromStatus(
      status,
      safeProviderMessage(raw, [provider.apiKey]),
      parseRetryAfter(headers),
    );
  }

  healthRequest(provider: ProviderConfig, path: string): WireRequest {
    return { method: 'GET', path, headers: this.headers(provider, false), body: null };
  }

  protected headers(provider: ProviderConfig, withBody: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (withBody) headers['content-type'] = 'application/json';
    if (provider.apiKey !== '') headers.authorization = `Bearer ${provider.apiKey}`;
    return headers;
  }
}

/**
 * `chat.completion.chunk` events (https://platform.openai.com/docs/api-reference/chat-streaming):
 * the first chunk names the model, `choices[0].delta.content` carries text, a chunk with
 * `finish_reason` ends the choice, the usage-only last chunk (`choices: []`, asked for with
 * `stream_options.include_usage`) carries the counts, and `data: [DONE]` ends the stream. Errors
 * arrive in-band as `{error: {...}}`.
 */
export class OpenAiStreamDecoder implements StreamDecoder {
  private started = false;

  decode(event: SseEvent): ChatStreamEvent[] {
    if (event.data === '[DONE]') return [{ kind: 'end' }];
    const doc = parseStreamJson(event.data);
    if (doc.error !== undefined) {
      const error = doc.error;
      const message = safeProviderMessage(isObject(error) ? error.message : error, []);
      throw new ProviderError('server', `stream error: ${message ?? 'unknown'}`);
    }
    const out: ChatStreamEvent[] = [];
    if (!this.started) {
      this.started = true;
      const model = typeof doc.model === 'string' && doc.model !== '' ? doc.model : null;
      out.push({ kind: 'start', providerModel: model });
    }
    const choices = doc.choices;
    if (choices !== undefined && !Array.isArray(choices)) throw missingField('choices');
    const choice: unknown = Array.isArray(choices) ? choices[0] : undefined;
    if (isObject(choice)) {
      const delta = choice.delta;
      if (isObject(delta)) {
        if (typeof delta.content === 'string' && delta.content !== '') {
          out.push({ kind: 'text', text: delta.content });
        } else if (typeof delta.refusal === 'string' && delta.refusal !== '') {
          out.push({ kind: 'text', text: delta.refusal });
        }
      }
      if (typeof choice.finish_reason === 'string') {
        out.push({ kind: 'finish', finishReason: FINISH_REASONS[choice.finish_reason] ?? 'other' });
      }
    }
    const usage = doc.usage;
    if (isObject(usage)) {
      if (!nonNegativeInt(usage.prompt_tokens) || !nonNegativeInt(usage.completion_tokens)) {
        throw missingField('usage');
      }
      out.push({
        kind: 'usage',
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens,
      });
    }
    return out;
  }
}

/** A stream event's JSON; anything but an object is an invalid response. */
export function parseStreamJson(data: string): JsonObject {
  let doc: unknown;
  try {
    doc = JSON.parse(data);
  } catch (err) {
    throw new ProviderError('invalid_response', 'invalid stream: event is not JSON', {
      cause: err,
    });
  }
  if (!isObject(doc)) {
    throw new ProviderError('invalid_response', 'invalid stream: event is not a JSON object');
  }
  return doc;
}
