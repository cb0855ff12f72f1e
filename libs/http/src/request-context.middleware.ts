import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachRequestContext } from '@gateway/context';
import { chooseRequestId } from '@gateway/observability';

/** A middleware on plain Node requests: usable by Express (`app.use`) and by the fast routes. */
export type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * First step of every request, on both the Express chain and the fast routes: picks the request
 * id (docs/api.md §4 and §7), echoes it, and attaches the RequestContext every later step reads
 * from `req`. A plain function: it runs on every request.
 */
export const requestContextMiddleware: NodeMiddleware = (req, res, next) => {
  const id = chooseRequestId(req.headers['x-request-id']);
  attachRequestContext(req, id, pathOf(req.url));
  res.setHeader('X-Request-Id', id);
  next();
};

/**
 * The path of a request target, without the query string or fragment (Express's `req.path`). An
 * absolute-form target (`http://host/path`) yields its path.
 */
export function pathOf(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  if (url.charCodeAt(0) !== 0x2f /* '/' */) {
    try {
      return new URL(url).pathname;
    } catch {
      return url;
    }
  }
  const end = url.search(/[?#]/);
  return end < 0 ? url : url.slice(0, end);
}
