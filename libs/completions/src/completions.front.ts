import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, Logger } from '@nestjs/common';
import { RequestRecorder } from '@gateway/audit';
import { requestContext } from '@gateway/context';
import { answerError, ErrorObserver, sendJson } from '@gateway/errors';
import { deferBodyError, type FastRouteHandler, readJsonBody } from '@gateway/http';
import { admitTenant, ApiKeyAuthenticator, authenticate } from '@gateway/tenancy';
import { answerAnthropicError } from './anthropic-error';
import { type CompletionFormat, CompletionsEndpoint } from './completions.endpoint';
import { StreamReply } from './sse-response';

/**
 * The completion routes as fast routes (`installFastRoutes`): the same steps the Nest path takes
 * for them — body, tenant authentication (body errors raised after it, so they are audited under
 * the tenant), CompletionsEndpoint, the record committed before the answer, errors through
 * `answerError` — as plain calls on the Node request, without Express's router and Nest's
 * guard/interceptor/filter machinery.
 */
@Injectable()
export class CompletionsFront {
  private readonly logger = new Logger('Errors');

  constructor(
    private readonly auth: ApiKeyAuthenticator,
    private readonly endpoint: CompletionsEndpoint,
    private readonly recorder: RequestRecorder,
    private readonly observer: ErrorObserver,
  ) {}

  /** Path → handler, for `installFastRoutes`. */
  routes(): ReadonlyMap<string, FastRouteHandler> {
    const gateway: FastRouteHandler = (req, res) => void this.serve('gateway', req, res);
    const chat: FastRouteHandler = (req, res) => void this.serve('chat', req, res);
    const anthropic: FastRouteHandler = (req, res) => void this.serve('anthropic', req, res);
    return new Map([
      ['/api/v1/completions', gateway],
      ['/v1/chat/completions', chat],
      ['/api/v1/chat/completions', chat],
      ['/v1/messages', anthropic],
    ]);
  }

  private async serve(
    format: CompletionFormat,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const ctx = requestContext(req);
    if (format === 'anthropic') res.setHeader('request-id', ctx.requestId);
    try {
      let body: unknown;
      try {
        body = await readJsonBody(req);
      } catch (err) {
        deferBodyError(ctx, res, err);
      }
      const authenticated = authenticate(this.auth, req, admitTenant);
      if (authenticated !== true) await authenticated;
      const tenant = ctx.tenant;
      if (!tenant) throw new Error('authenticated tenant request without a tenant');
      const cacheControl = req.headers['cache-control'];
      const out = await this.endpoint.handle(format, tenant, ctx, body, cacheControl, res);
      const record = () => this.recorder.recordSuccess(ctx, tenant, 200);
      if (out instanceof StreamReply) {
        await out.close(record);
        return;
      }
      await record();
      sendJson(res, 200, out);
    } catch (err) {
      const answer = format === 'anthropic' ? answerAnthropicError : answerError;
      await answer(err, req, res, this.observer, this.logger).catch((e: unknown) => {
        this.logger.error({ err: e, requestId: ctx.requestId }, 'error answer failed');
        if (!res.headersSent) res.destroy();
      });
    }
  }
}
