import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { isPlainJsonBody } from './json-body';
import { type NodeMiddleware, requestContextMiddleware } from './request-context.middleware';

/** Serves one request end to end; it must answer every request it is given, errors included. */
export type FastRouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FastRoutesOptions {
  /** `POST` path → handler. Exact, case-sensitive paths; no trailing slash. */
  readonly routes: ReadonlyMap<string, FastRouteHandler>;
  /** Bodies larger than this take the general path (which answers 413). */
  readonly maxBodyBytes: number;
  /**
   * What the Express chain runs between the request context and the body for every request (the
   * access line, the stage timings), in the same order; each must call `next` synchronously.
   */
  readonly middleware: readonly NodeMiddleware[];
}

/**
 * Puts a few hot routes in front of the Express app on the Node server, so their requests skip
 * Express's router and body-parser and Nest's rxjs pipeline (together about 0.3 ms of CPU per
 * request on the bench machine; docs/BENCHMARKS.md). The handlers come from `compileFastRoutes`:
 * they run the route's own guards, interceptors and filters, as declared for Nest. Only requests
 * those handlers read exactly as the general path would are taken: `POST` to one of the paths,
 * with a plain JSON body (`isPlainJsonBody`). Every other request — other methods, a path variant
 * such as a trailing slash or other letter case, a query string, compressed, chunked or oversized
 * bodies — goes to Express unchanged, and meets the same routes there through Nest. Taken requests
 * get the same request context and access line as the Express chain.
 */
export function installFastRoutes(server: Server, options: FastRoutesOptions): void {
  const listeners = server.listeners('request');
  if (listeners.length !== 1) {
    throw new Error(`expected one request listener (the Express app), found ${listeners.length}`);
  }
  const general = listeners[0] as RequestListener;
  const { routes, maxBodyBytes } = options;
  const middleware = [...options.middleware];
  server.removeListener('request', general);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // The whole target, query included: a request with a query string goes to Express, where
    // the route's accepted query parameters are enforced (none, for these routes).
    const handler = req.method === 'POST' ? routes.get(req.url ?? '') : undefined;
    if (handler === undefined || !isPlainJsonBody(req, maxBodyBytes)) {
      general(req, res);
      return;
    }
    requestContextMiddleware(req, res, () => {
      for (const m of middleware) m(req, res, noop);
      handler(req, res);
    });
  });
}

function noop(): void {
  // The listed middleware only attach listeners and always go on.
}
