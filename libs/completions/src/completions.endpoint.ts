import type { ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { unitsToUsd } from '@gateway/billing';
import type { RequestContext, TenantContext } from '@gateway/context';
import { GatewayMetrics } from '@gateway/observability';
import {
  AnthropicEventEncoder,
  anthropicStopReason,
  OpenAiChunkEncoder,
  openAiFinishReason,
  type StreamEncoder,
} from '@gateway/providers';
import { parseAnthropicBody } from './anthropic-request.parser';
import { type ParsedCompletion, parseCompletionBody } from './completion-request.parser';
import type {
  AnthropicMessageDto,
  ChatCompletionResponseDto,
  CompletionResponseDto,
} from './completions.dto';
import { type CompletionOutcome, CompletionsService } from './completions.service';
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
 * One completion request from parsed JSON to response body, whichever way it arrived (the Nest
 * controller or the fast route): validates the body, runs the pipeline, sets the response headers
 * (cache policy, rate limits — as soon as the request is admitted, so a later failure carries them
 * too —, cache status, provider), and shapes the answer in the requested format.
 */
@Injectable()
export class CompletionsEndpoint {
  constructor(
    private readonly completions: CompletionsService,
    private readonly metrics: GatewayMetrics,
  ) {}

  async handle(
    format: CompletionFormat,
    tenant: TenantContext,
    ctx: RequestContext,
    body: unknown,
    cacheControl: string | undefined,
    res: ServerResponse,
  ): Promise<CompletionReply> {
    // Responses hold one tenant's data: no shared HTTP cache may keep them.
    res.setHeader('Cache-Control', 'private, no-store');
    const parsed = format === 'anthropic' ? parseAnthropicBody(body) : parseCompletionBody(body);
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    // The client may have left while the body was read or a cold key was looked up: then 'close'
    // has already fired, and nothing should reach a provider (or be billed) for it.
    if (res.closed && !res.writableFinished) abort.abort();
    if (parsed.stream !== null)
      return this.stream(format, tenant, ctx, parsed, cacheControl, res, abort);
    const out = await this.completions.complete(
      tenant,
      ctx,
      parsed,
      cacheControl,
      abort.signal,
      (h) => setHeaders(res, h),
    );
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
    tenant: TenantContext,
    ctx: RequestContext,
    parsed: ParsedCompletion,
    cacheControl: string | undefined,
    res: ServerResponse,
    abort: AbortController,
  ): Promise<StreamReply> {
    const sse = new SseResponse(res, encoderFor(format, ctx, parsed));
    try {
      const out = await this.completions.complete(
        tenant,
        ctx,
        parsed,
        cacheControl,
        abort.signal,
        (h) => setHeaders(res, h),
        sse,
      );
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

export function setHeaders(res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  for (const name in headers) res.setHeader(name, headers[name]);
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
