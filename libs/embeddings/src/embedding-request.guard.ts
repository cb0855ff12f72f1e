import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { requestContext } from '@gateway/context';
import { parkPlan } from '@gateway/lifecycle';
import { parseEmbeddingBody } from './embedding-request.parser';
import { EmbeddingsService } from './embeddings.service';

type BodyRequest = IncomingMessage & { body?: unknown };

/**
 * The embeddings route's request step, after authentication and before LimitsGuard: validates the
 * body, resolves the model and parks the plan (`EmbeddingsService.plan`) on the request context.
 * Its refusals are audited under the tenant and take no rate-limit slot.
 */
@Injectable()
export class EmbeddingRequestGuard implements CanActivate {
  constructor(private readonly embeddings: EmbeddingsService) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const req = http.getRequest<BodyRequest>();
    const ctx = requestContext(req);
    const tenant = ctx.tenant;
    if (!tenant) throw new Error('EmbeddingRequestGuard needs TenantAuthGuard before it');
    // Responses hold one tenant's data: no shared HTTP cache may keep them.
    http.getResponse<ServerResponse>().setHeader('Cache-Control', 'private, no-store');
    parkPlan(ctx, this.embeddings.plan(tenant, ctx, parseEmbeddingBody(req.body)));
    return true;
  }
}
