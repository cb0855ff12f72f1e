import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { requestContext } from '@gateway/context';
import { parkPlan } from '@gateway/lifecycle';
import { parseAnthropicBody } from './anthropic-request.parser';
import { parseCompletionBody } from './completion-request.parser';
import type { CompletionFormat } from './completions.endpoint';
import { CompletionsService } from './completions.service';

/** The wire format a completion route speaks: its body parser, and its answer's shape. */
export const ReplyFormat = Reflector.createDecorator<CompletionFormat>();

type BodyRequest = IncomingMessage & { body?: unknown };

/**
 * The completion routes' request step, after authentication and before LimitsGuard (which needs
 * to know what to reserve): validates the body in the route's format, resolves the model (404,
 * 403) and parks the plan (`CompletionsService.plan`) on the request context, once. A guard,
 * because pipes run after interceptors and the limits must be known before them. Its refusals are
 * audited under the tenant and take no rate-limit slot.
 */
@Injectable()
export class CompletionRequestGuard implements CanActivate {
  constructor(
    private readonly completions: CompletionsService,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const req = http.getRequest<BodyRequest>();
    const ctx = requestContext(req);
    const tenant = ctx.tenant;
    if (!tenant) throw new Error('CompletionRequestGuard needs TenantAuthGuard before it');
    // Responses hold one tenant's data: no shared HTTP cache may keep them.
    http.getResponse<ServerResponse>().setHeader('Cache-Control', 'private, no-store');
    const format = this.reflector.get(ReplyFormat, context.getHandler());
    const parsed =
      format === 'anthropic' ? parseAnthropicBody(req.body) : parseCompletionBody(req.body);
    parkPlan(ctx, this.completions.plan(tenant, ctx, parsed));
    return true;
  }
}
