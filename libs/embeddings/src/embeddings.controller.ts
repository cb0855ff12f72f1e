import { Body, Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { requestContext, type TenantContext } from '@gateway/context';
import { CurrentTenant, TenantRoute } from '@gateway/tenancy';
import { parseEmbeddingBody } from './embedding-request.parser';
import { EmbeddingListDto, EmbeddingRequestDto } from './embeddings.dto';
import { embeddingsResponse } from './embeddings.response';
import { EmbeddingsService } from './embeddings.service';

/**
 * `POST /v1/embeddings` in OpenAI's wire format, also at `/api/v1/embeddings` beside the gateway's
 * other `/api/v1` routes. An ordinary Nest route: the tenant guard authenticates, the global audit
 * interceptor and exception filter write the one record and answer errors in OpenAI's shape.
 */
@ApiTags('embeddings')
@Controller()
@TenantRoute()
export class EmbeddingsController {
  constructor(private readonly embeddings: EmbeddingsService) {}

  @Post(['v1/embeddings', 'api/v1/embeddings'])
  @HttpCode(200)
  @ApiOperation({ summary: "Embeddings in OpenAI's wire format (docs/api.md)." })
  @ApiBody({ type: EmbeddingRequestDto })
  @ApiOkResponse({ type: EmbeddingListDto })
  async embed(
    @CurrentTenant() tenant: TenantContext,
    @Body() body: unknown,
    @Headers('cache-control') cacheControl: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EmbeddingListDto> {
    const ctx = requestContext(req);
    // Responses hold one tenant's data: no shared HTTP cache may keep them.
    res.setHeader('Cache-Control', 'private, no-store');
    const parsed = parseEmbeddingBody(body);
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    // The client may have left while the body was read: then nothing should reach a provider.
    if (res.closed && !res.writableFinished) abort.abort();
    const out = await this.embeddings.embed(
      tenant,
      ctx,
      parsed,
      cacheControl,
      abort.signal,
      (h) => {
        for (const name in h) res.setHeader(name, h[name]);
      },
    );
    res.setHeader('X-Cache', out.cacheStatus);
    res.setHeader('X-Gateway-Provider', out.answer.provider);
    return embeddingsResponse(parsed.model, out.answer, parsed.encoding);
  }
}
