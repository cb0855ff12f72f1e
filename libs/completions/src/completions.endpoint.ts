import type { ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { unitsToUsd } from '@gateway/billing';
import type { RequestContext } from '@gateway/context';
import { GatewayMetrics } from '@gateway/observability';
import {
  AnthropicEventEncoder,
  anthropicStopReason,
  OpenAiChunkEncoder,
  openAiFinishReason,
  type StreamEncoder,
} from '@gateway/providers';
import type { ParsedCompletion } from './completion-request.parser';
import type {
  AnthropicMessageDto,
  ChatCompletionResponseDto,
  CompletionResponseDto,
} from './completions.dto';
import {
  type CompletionExchange,
  type CompletionOutcome,
  CompletionsService,
} from './completions.service';
import { SseResponse, StreamReply } from './sse-response';
import { StreamInterruptedError } from './stream-sink';

/**
 * The completion wire formats: the gateway's own (docs/api.md), OpenAI's Chat Completions and
 * Anthropic's Messages. A stream of the gateway's format uses OpenAI's chunks.
 */
export type CompletionFormat = 'gateway' | 'chat' | 'anthropic';

export type CompletionReply =
  CompletionResponseDto | ChatCompletionResponseDto | AnthropicMessageDto | StreamReply;

/**
 * The handler's part of a completion request, whichever way it arrived (both run the controller's
 * declared lifecycle first): ties the provider call to the client's connection, gets the answer
 * (`CompletionsService.complete`), sets `X-Cache` and `X-Gateway-Provider`, and shapes the answer
 * in the requested format — or, for a stream, relays it and decides how it ends.
 */
@Injectable()
export class CompletionsEndpoint {
  constructor(
    private readonly completions: CompletionsService,
    private readonly metrics: GatewayMetrics,
  ) {}

  async handle(
    format: CompletionFormat,
    exchange: CompletionExchange,
    res: ServerResponse,
  ): Promise<CompletionReply> {
    const { ctx } = exchange;
    const { parsed } = exchange.plan;
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    // The client may have left while the body was read or a cold key was looked up: then 'close'
    // has already fired, and nothing should reach a provider (or be billed) for it.
    if (res.closed && !res.writableFinished) abort.abort();
    if (parsed.stream !== null) return this.stream(format, exchange, res, abort);
    const out = await this.completions.complete(exchange, abort.signal);
    res.setHeader('X-Cache', out.cacheStatus);
    res.setHeader('X-Gateway-Provider', out.answer.provider);
    switch (format) {
      case 'chat':
        return chatResponse(ctx, out);
      case 'anthropic':
        return anthropicResponse(ctx, out);
      default:
        return gatewayResponse(ctx, out);
    }
  }

  /**
   * A streamed request: errors before the provider's first event are thrown (a JSON error, as for
   * any request); from then on the response is a 200 stream, and how it ends is decided here.
   */
  private async stream(
    format: CompletionFormat,
    exchange: CompletionExchange,
    res: ServerResponse,
    abort: AbortController,
  ): Promise<StreamReply> {
    const { ctx } = exchange;
    const sse = new SseResponse(res, encoderFor(format, ctx, exchange.plan.parsed));
    try {
      const out = await this.completions.complete(exchange, abort.signal, sse);
      if (!out.relayed) {
        sse.open({ 'X-Cache': out.cacheStatus, 'X-Gateway-Provider': out.answer.provider });
        sse.replay(out.answer);
      }
      this.metrics.streamsTotal.inc({ outcome: ctx.audit.outcome ?? 'success' });
      return new StreamReply(sse, res, { kind: 'complete', answer: out.answer });
    } catch (err) {
      if (!(err instanceof StreamInterruptedError)) throw err;
      this.metrics.streamsTotal.inc({
        outcome: err.clientClosed ? 'client_closed' : 'upstream_error',
      });
      return new StreamReply(
        sse,
        res,
        err.clientClosed
          ? { kind: 'client_closed' }
          : { kind: 'interrupted', message: err.message },
      );
    }
  }
}

function encoderFor(
  format: CompletionFormat,
  ctx: RequestContext,
  parsed: ParsedCompletion,
): StreamEncoder {
  if (format === 'anthropic')
    return new AnthropicEventEncoder(`msg_${ctx.requestId}`, parsed.model);
  return new OpenAiChunkEncoder({
    id: `chatcmpl-${ctx.requestId}`,
    created: Math.floor(ctx.receivedAt.getTime() / 1000),
    model: parsed.model,
    includeUsage: parsed.stream?.includeUsage ?? false,
  });
}

function gatewayResponse(ctx: RequestContext, out: CompletionOutcome): CompletionResponseDto {
  const { answer } = out;
  return {
    cached: out.cached,
    response: {
      content: answer.content,
      model: ctx.audit.model ?? '',
      prompt_tokens: answer.promptTokens,
      completion_tokens: answer.completionTokens,
      total_tokens: answer.promptTokens + answer.completionTokens,
      provider: answer.provider,
    },
    cost: unitsToUsd(out.costUnits),
    latency_ms: Number((process.hrtime.bigint() - ctx.startedAt) / 1_000_000n),
    rate_limit_remaining: out.rateLimitRemaining,
    request_id: ctx.requestId,
    provider_model: answer.providerModel,
    attempts: ctx.audit.attempts,
  };
}

function chatResponse(ctx: RequestContext, out: CompletionOutcome): ChatCompletionResponseDto {
  const { answer } = out;
  return {
    id: `chatcmpl-${ctx.requestId}`,
    object: 'chat.completion',
    created: Math.floor(ctx.receivedAt.getTime() / 1000),
    model: ctx.audit.model ?? '',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: answer.content },
        finish_reason: openAiFinishReason(answer.finishReason),
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: answer.promptTokens,
      completion_tokens: answer.completionTokens,
      total_tokens: answer.promptTokens + answer.completionTokens,
    },
  };
}

function anthropicResponse(ctx: RequestContext, out: CompletionOutcome): AnthropicMessageDto {
  const { answer } = out;
  return {
    id: `msg_${ctx.requestId}`,
    type: 'message',
    role: 'assistant',
    model: ctx.audit.model ?? '',
    content: [{ type: 'text', text: answer.content }],
    stop_reason: anthropicStopReason(answer.finishReason),
    stop_sequence: null,
    usage: { input_tokens: answer.promptTokens, output_tokens: answer.completionTokens },
  };
}
