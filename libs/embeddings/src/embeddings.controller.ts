import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, HttpCode, Post, Req, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { EmbeddingAnswer } from '@gateway/cache';
import { requestContext } from '@gateway/context';
import { CacheInterceptor, exchangeOf, LimitsGuard } from '@gateway/lifecycle';
import { TenantRoute } from '@gateway/tenancy';
import { EmbeddingRequestGuard } from './embedding-request.guard';
import { EmbeddingListDto, EmbeddingRequestDto } from './embeddings.dto';
import { embeddingsResponse } from './embeddings.response';
import { type EmbeddingPlan, EmbeddingsService } from './embeddings.service';

/**
 * `POST /v1/embeddings` in OpenAI's wire format, also at `/api/v1/embeddings` beside the gateway's
 * other `/api/v1` routes. The completion routes' lifecycle, declared the same way: TenantAuthGuard
 * (on the controller), EmbeddingRequestGuard (body, model, plan), LimitsGuard, the global
 * AuditInterceptor, CacheInterceptor, then the handler; errors through the global filter in
 * OpenAI's shape. Served through Nest only (not a fast route).
 */
@ApiTags('embeddings')
@Controller()
@TenantRoute()
export class EmbeddingsController {
  constructor(private readonly embeddings: EmbeddingsService) {}

  @Post(['v1/embeddings', 'api/v1/embeddings'])
  @HttpCode(200)
  @UseGuards(EmbeddingRequestGuard, LimitsGuard)
  @UseInterceptors(CacheInterceptor)
  @ApiOperation({ summary: "Embeddings in OpenAI's wire format (docs/api.md)." })
  @ApiBody({ type: EmbeddingRequestDto })
  @ApiOkResponse({ type: EmbeddingListDto })
  async embed(
    @Req() req: IncomingMessage,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<EmbeddingListDto> {
    const exchange = exchangeOf<EmbeddingAnswer, EmbeddingPlan>(requestContext(req));
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    // The client may have left while the body was read: then nothing should reach a provider.
    if (res.closed && !res.writableFinished) abort.abort();
    const out = await this.embeddings.embed(exchange, abort.signal);
    res.setHeader('X-Cache', out.cacheStatus);
    res.setHeader('X-Gateway-Provider', out.answer.provider);
    const { parsed } = exchange.plan;
    return embeddingsResponse(parsed.model, out.answer, parsed.encoding);
  }
}
