import { Body, Controller, Get, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AdmissionService } from '@gateway/admission';
import { unitsToUsd } from '@gateway/billing';
import { requestContext, type TenantContext } from '@gateway/context';
import { ProvidersService } from '@gateway/providers';
import { CurrentTenant, TenantRoute } from '@gateway/tenancy';
import { parseCompletionBody } from './completion-request.parser';
import {
  ChatCompletionResponseDto,
  CompletionRequestDto,
  CompletionResponseDto,
  ModelListDto,
} from './completions.dto';
import { type CompletionOutcome, CompletionsService } from './completions.service';

/** Tenant routes that answer completions: the gateway's own shape and OpenAI's wire format. */
@ApiTags('completions')
@Controller()
@TenantRoute()
export class CompletionsController {
  constructor(
    private readonly completions: CompletionsService,
    private readonly providers: ProvidersService,
    private readonly admission: AdmissionService,
  ) {}

  @Post('api/v1/completions')
  @HttpCode(200)
  @ApiOperation({ summary: 'Completion in the gateway format (CONTRACT §3).' })
  @ApiBody({ type: CompletionRequestDto })
  @ApiOkResponse({ type: CompletionResponseDto })
  async complete(
    @CurrentTenant() tenant: TenantContext,
    @Body() body: unknown,
    @Headers('cache-control') cacheControl: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CompletionResponseDto> {
    const ctx = requestContext(req);
    const out = await this.run(tenant, body, cacheControl, req, res);
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
      latency_ms: elapsedMs(ctx.startedAt),
      rate_limit_remaining: out.rateLimitRemaining,
      request_id: ctx.requestId,
      provider_model: answer.providerModel,
      attempts: ctx.audit.attempts,
    };
  }

  @Post(['v1/chat/completions', 'api/v1/chat/completions'])
  @HttpCode(200)
  @ApiOperation({ summary: "Completion in OpenAI's Chat Completions wire format." })
  @ApiBody({ type: CompletionRequestDto })
  @ApiOkResponse({ type: ChatCompletionResponseDto })
  async chat(
    @CurrentTenant() tenant: TenantContext,
    @Body() body: unknown,
    @Headers('cache-control') cacheControl: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ChatCompletionResponseDto> {
    const ctx = requestContext(req);
    const out = await this.run(tenant, body, cacheControl, req, res);
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

  @Get('v1/models')
  @ApiOperation({ summary: 'The models this tenant may use, in OpenAI list format.' })
  @ApiOkResponse({ type: ModelListDto })
  async models(
    @CurrentTenant() tenant: TenantContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ModelListDto> {
    setHeaders(res, await this.admission.peek(tenant));
    return {
      object: 'list',
      data: this.providers.modelsFor(tenant).map((m) => ({
        id: m.alias,
        object: 'model',
        created: 0,
        owned_by: 'llm-gateway',
      })),
    };
  }

  private async run(
    tenant: TenantContext,
    body: unknown,
    cacheControl: string | undefined,
    req: Request,
    res: Response,
  ): Promise<CompletionOutcome> {
    const ctx = requestContext(req);
    ctx.endpoint = req.path;
    // Responses hold one tenant's data: no shared HTTP cache may keep them.
    res.setHeader('Cache-Control', 'private, no-store');
    const parsed = parseCompletionBody(body);
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
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
    return out;
  }
}

function setHeaders(res: Response, headers: Readonly<Record<string, string>>): void {
  for (const name in headers) res.setHeader(name, headers[name]);
}

function elapsedMs(startedAt: bigint): number {
  return Number((process.hrtime.bigint() - startedAt) / 1_000_000n);
}
