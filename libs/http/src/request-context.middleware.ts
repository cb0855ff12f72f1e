import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachRequestContext, runInRequestContext } from '@gateway/context';
import { chooseRequestId } from '@gateway/observability';

/**
 * First step of every request, on both the Express chain and the fast routes: picks the request
 * id (CONTRACT §9), echoes it, and attaches the RequestContext every later step reads (also as
 * the current context, for log lines). A plain function: it runs on every request.
 */
export function requestContextMiddleware(
  req: IncomingMessage,
  res: ServerResponse,
  next: () => void,
): void {
  const id = chooseRequestId(req.headers['x-request-id']);
  const ctx = attachRequestContext(req, id, pathOf(req.url));
  res.setHeader('X-Request-Id', id);
  runInRequestContext(ctx, next);
}

/** The path of a request target, without the query string. */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
