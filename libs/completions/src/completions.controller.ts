import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Post,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AdmissionService } from '@gateway/admission';
import { RequestRecorder } from '@gateway/audit';
import { requestContext, type TenantContext } from '@gateway/context';
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
import {
  type CompletionFormat,
  type CompletionReply,
  CompletionsEndpoint,
  setHeaders,
} from './completions.endpoint';
import { StreamReply } from './sse-response';

/**
 * Tenant routes that answer completions: the gateway's own shape and OpenAI's wire format. Plain
 * JSON `POST`s to the exact paths are served by the fast route (CompletionsFront) before Express
 * sees them; these handlers serve the rest (compressed or chunked bodies, other path spellings),
 * through the same CompletionsEndpoint, and define the routes' OpenAPI description.
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
  @HttpCode(200)
  @ApiOperation({ summary: 'Completion in the gateway format (docs/api.md §3).' })
  @ApiBody({ type: CompletionRequestDto })
  @ApiOkResponse({ type: CompletionResponseDto })
  complete(
    @CurrentTenant() tenant: TenantContext,
    @Body() body: unknown,
    @Headers('cache-control') cacheControl: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CompletionReply | undefined> {
    return this.serve('gateway', tenant, body, cacheControl, req, res);
  }

  @Post(['v1/chat/completions', 'api/v1/chat/completions'])
  @HttpCode(200)
  @ApiOperation({ summary: "Completion in OpenAI's Chat Completions wire format." })
  @ApiBody({ type: CompletionRequestDto })
  @ApiOkResponse({ type: ChatCompletionResponseDto })
  chat(
    @CurrentTenant() tenant: TenantContext,
    @Body() body: unknown,
    @Headers('cache-control') cacheControl: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CompletionReply | undefined> {
    return this.serve('chat', tenant, body, cacheControl, req, res);
  }

  @Post('v1/messages')
  @HttpCode(200)
  @UseFilters(AnthropicExceptionFilter)
  @ApiOperation({ summary: "Anthropic's Messages API (x-api-key or Bearer); errors in its shape." })
  @ApiBody({ type: AnthropicMessageRequestDto })
  @ApiOkResponse({ type: AnthropicMessageDto })
  messages(
    @CurrentTenant() tenant: TenantContext,
    @Body() body: unknown,
    @Headers('cache-control') cacheControl: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CompletionReply | undefined> {
    res.setHeader('request-id', requestContext(req).requestId);
    return this.serve('anthropic', tenant, body, cacheControl, req, res);
  }

  /**
   * A JSON answer is returned for the audit interceptor and Nest to send; a stream is ended here,
   * after its record (the interceptor then finds the request already recorded).
   */
  private async serve(
    format: CompletionFormat,
    tenant: TenantContext,
    body: unknown,
    cacheControl: string | undefined,
    req: Request,
    res: Response,
  ): Promise<CompletionReply | undefined> {
    const ctx = requestContext(req);
    const out = await this.endpoint.handle(format, tenant, ctx, body, cacheControl, res);
    if (!(out instanceof StreamReply)) return out;
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
