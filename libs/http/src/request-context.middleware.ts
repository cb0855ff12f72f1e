import type { NextFunction, Request, Response } from 'express';
import { attachRequestContext, runInRequestContext } from '@gateway/context';
import { chooseRequestId } from '@gateway/observability';

/**
 * First middleware of every request: picks the request id (CONTRACT §9), echoes it, and attaches
 * the RequestContext every later step reads (also as the current context, for log lines). A plain
 * function: it runs on every request.
 */
export function requestContextMiddleware(req: Request, res: Response, next: NextFunction): void {
  const id = chooseRequestId(req.headers['x-request-id']);
  const ctx = attachRequestContext(req, id);
  res.setHeader('X-Request-Id', id);
  runInRequestContext(ctx, next);
}
