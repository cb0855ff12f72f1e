import { createHash } from 'node:crypto';
import type { ProviderConfig, RouteConfig } from '@gateway/config';
import type { ChatRequest, ChatResult, ChatStreamEvent } from '@gateway/types';
import { sleep } from '../resilience/sleep';

/** Words of the last user message echoed back; keeps answers short whatever the prompt. */
const ECHO_WORDS = 24;

/**
 * The `mock` provider: no network, no key. The answer and its token counts are a pure function of
 * the route's model and the request (same request → same answer, byte for byte), so demos, tests
 * and benchmarks are reproducible; `latency_ms` simulates the provider's wait.
 */
export class MockAdapter {
  async complete(
    provider: ProviderConfig,
    route: RouteConfig,
    request: ChatRequest,
    signal?: AbortSignal,
  ): Promise<ChatResult> {
    await sleep(provider.latencyMs, signal);
    return this.answer(route, request);
  }

  /**
   * The same answer as `complete`, streamed one word (one token) per event after the simulated
   * wait, with the usage at the end as a provider asked for it would report it.
   */
  async *stream(
    provider: ProviderConfig,
    route: RouteConfig,
    request: ChatRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<ChatStreamEvent> {
    await sleep(provider.latencyMs, signal);
    const answer = this.answer(route, request);
    yield { kind: 'start', providerModel: answer.providerModel };
    const words = answer.content.split(' ');
    for (let i = 0; i < words.length; i++) {
      yield { kind: 'text', text: i === 0 ? words[i] : ` ${words[i]}` };
    }
    yield { kind: 'finish', finishReason: answer.finishReason };
    yield {
      kind: 'usage',
      promptTokens: answer.promptTokens,
      completionTokens: answer.completionTokens,
    };
    yield { kind: 'end' };
  }

  answer(route: RouteConfig, request: ChatRequest): ChatResult {
    const digest = createHash('sha256')
      .update(JSON.stringify([route.model, request]))
      .digest('hex')
      .slice(0, 12);
    const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
    const echo = (lastUser?.content ?? '').split(/\s+/).filter(Boolean).slice(0, ECHO_WORDS);
    const words = ['Mock', 'answer', digest, 'to:', ...echo];
    // One word is one completion token, so `max_tokens` truncates exactly like a real model.
    const limit = request.maxTokens ?? route.price.maxOutputTokens;
    const truncated = words.length > limit;
    const kept = truncated ? words.slice(0, limit) : words;
    return {
      content: kept.join(' '),
      finishReason: truncated ? 'length' : 'stop',
      promptTokens: estimatePromptTokens(request),
      completionTokens: kept.length,
      providerModel: route.model,
    };
  }
}

/** About four characters per token plus a few per message, like OpenAI's chat accounting. */
function estimatePromptTokens(request: ChatRequest): number {
  let tokens = 3;
  for (const m of request.messages) tokens += 4 + Math.ceil(m.content.length / 4);
  return tokens;
}
