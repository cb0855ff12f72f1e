import type { ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { unitsToUsd } from '@gateway/billing';
import type { RequestContext, TenantContext } from '@gateway/context';
import { parseCompletionBody } from './completion-request.parser';
import type { ChatCompletionResponseDto, CompletionResponseDto } from './completions.dto';
import { type CompletionOutcome, CompletionsService } from './completions.service';

/** The two completion wire formats: the gateway's own (CONTRACT §3) and OpenAI's Chat Completions. */
export type CompletionFormat = 'gateway' | 'chat';

/**
 * One completion request from parsed JSON to response body, whichever way it arrived (the Nest
 * controller or the fast route): validates the body, runs the pipeline, sets the response headers
 * (cache policy, rate limits — as soon as the request is admitted, so a later failure carries them
 * too —, cache status, provider), and shapes the answer in the requested format.
 */
@Injectable()
export class CompletionsEndpoint {
  constructor(private readonly completions: CompletionsService) {}

  async handle(
    format: CompletionFormat,
    tenant: TenantContext,
    ctx: RequestContext,
    body: unknown,
    cacheControl: string | undefined,
    res: ServerResponse,
  ): Promise<CompletionResponseDto | ChatCompletionResponseDto> {
    // Responses hold one tenant's data: no shared HTTP cache may keep them.
    res.setHeader('Cache-Control', 'private, no-store');
    const parsed = parseCompletionBody(body);
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    // The client may have left while the body was read or a cold key was looked up: then 'close'
    // has already fired, and nothing should reach a provider (or be billed) for it.
    if (res.closed && !res.writableFinished) abort.abort();
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
    return format === 'chat' ? chatResponse(ctx, out) : gatewayResponse(ctx, out);
  }
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
        finish_reason: answer.finishReason === 'other' ? 'stop' : answer.finishReason,
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
