import { Body, Controller, Get, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AdmissionService } from '@gateway/admission';
import { requestContext, type TenantContext } from '@gateway/context';
import { ProvidersService } from '@gateway/providers';
import { CurrentTenant, TenantRoute } from '@gateway/tenancy';
import {
  ChatCompletionResponseDto,
  CompletionRequestDto,
  CompletionResponseDto,
  ModelListDto,
} from './completions.dto';
import { CompletionsEndpoint, setHeaders } from './completions.endpoint';

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
  ) {}

  @Post('api/v1/completions')
  @HttpCode(200)
  @ApiOperation({ summary: 'Completion in the gateway format (CONTRACT §3).' })
  @ApiBody({ type: CompletionRequestDto })
  @ApiOkResponse({ type: CompletionResponseDto })
  complete(
    @CurrentTenant() tenant: TenantContext,
    @Body() body: unknown,
    @Headers('cache-control') cacheControl: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CompletionResponseDto | ChatCompletionResponseDto> {
    return this.endpoint.handle('gateway', tenant, requestContext(req), body, cacheControl, res);
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
  ): Promise<CompletionResponseDto | ChatCompletionResponseDto> {
    return this.endpoint.handle('chat', tenant, requestContext(req), body, cacheControl, res);
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
