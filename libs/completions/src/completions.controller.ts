import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  applyDecorators,
  Controller,
  Get,
  HttpCode,
  Post,
  Req,
  Res,
  UseFilters,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AdmissionService } from '@gateway/admission';
import { RequestRecorder } from '@gateway/audit';
import type { CachedAnswer } from '@gateway/cache';
import { requestContext, type TenantContext } from '@gateway/context';
import { FastRoute } from '@gateway/http';
import { CacheInterceptor, exchangeOf, LimitsGuard, setHeaders } from '@gateway/lifecycle';
import { ProvidersService } from '@gateway/providers';
import { CurrentTenant, TenantRoute } from '@gateway/tenancy';
import { AnthropicExceptionFilter } from './anthropic-error';
import {
  AnthropicMessageDto,
  AnthropicMessageRequestDto,
  ChatCompletionResponseDto,
  CompletionRequestDto,
  CompletionResponseDto,
  ModelListDto,
} from './completions.dto';
import { CompletionRequestGuard, ReplyFormat } from './completion-request.guard';
import {
  type CompletionFormat,
  type CompletionReply,
  CompletionsEndpoint,
} from './completions.endpoint';
import type { CompletionPlan } from './completions.service';
import { StreamReply } from './sse-response';

/**
 * A completion route's lifecycle, in the order it runs (after the global StrictQueryGuard and
 * before the global AuditInterceptor wraps the interceptors; errors go to the global
 * GatewayExceptionFilter, or AnthropicExceptionFilter on `/v1/messages`): TenantAuthGuard (on
 * the controller), CompletionRequestGuard (body, model, plan), LimitsGuard (cache lookup and
 * speculative admission), CacheInterceptor (hit, or the miss admitted and its provider call
 * coalesced), then the handler. `@FastRoute()`: plain JSON `POST`s to the exact paths run this
 * same declaration on the Node server before Express (libs/http `compileFastRoutes`).
 */
function CompletionRoute(format: CompletionFormat): MethodDecorator {
  return applyDecorators(
    HttpCode(200),
    FastRoute(),
    ReplyFormat(format),
    UseGuards(CompletionRequestGuard, LimitsGuard),
    UseInterceptors(CacheInterceptor),
  );
}

/**
 * Tenant routes that answer completions: the gateway's own shape, OpenAI's and Anthropic's wire
 * formats. Each request is served once through the declared lifecycle, whichever way it came in.
 */
@ApiTags('completions')
@Controller()
@TenantRoute()
export class CompletionsController {
  constructor(
    private readonly endpoint: CompletionsEndpoint,
    private readonly providers: ProvidersService,
    private readonly admission: AdmissionService,
    private readonly recorder: RequestRecorder,
  ) {}

  @Post('api/v1/completions')
  @CompletionRoute('gateway')
  @ApiOperation({ summary: 'Completion in the gateway format (docs/api.md §3).' })
  @ApiBody({ type: CompletionRequestDto })
  @ApiOkResponse({ type: CompletionResponseDto })
  complete(
    @Req() req: IncomingMessage,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<CompletionReply | undefined> {
    return this.serve('gateway', req, res);
  }

  @Post(['v1/chat/completions', 'api/v1/chat/completions'])
  @CompletionRoute('chat')
  @ApiOperation({ summary: "Completion in OpenAI's Chat Completions wire format." })
  @ApiBody({ type: CompletionRequestDto })
  @ApiOkResponse({ type: ChatCompletionResponseDto })
  chat(
    @Req() req: IncomingMessage,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<CompletionReply | undefined> {
    return this.serve('chat', req, res);
  }

  @Post('v1/messages')
  @CompletionRoute('anthropic')
  @UseFilters(AnthropicExceptionFilter)
  @ApiOperation({ summary: "Anthropic's Messages API (x-api-key or Bearer); errors in its shape." })
  @ApiBody({ type: AnthropicMessageRequestDto })
  @ApiOkResponse({ type: AnthropicMessageDto })
  messages(
    @Req() req: IncomingMessage,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<CompletionReply | undefined> {
    res.setHeader('request-id', requestContext(req).requestId);
    return this.serve('anthropic', req, res);
  }

  /**
   * A JSON answer is returned for the audit interceptor to record and the way in to send; a
   * stream is ended here, after its record (the interceptor then finds the request recorded).
   */
  private async serve(
    format: CompletionFormat,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<CompletionReply | undefined> {
    const ctx = requestContext(req);
    const exchange = exchangeOf<CachedAnswer, CompletionPlan>(ctx);
    const out = await this.endpoint.handle(format, exchange, res);
    if (!(out instanceof StreamReply)) return out;
    const { tenant } = exchange.plan;
    await out.close(() => this.recorder.recordSuccess(ctx, tenant, 200));
    return undefined;
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
}
