import type { Logger } from 'pino';
import { maybeRequestContext } from '@gateway/context';
import { type NodeMiddleware, pathOf } from './request-context.middleware';

/**
 * One access line per request when it finishes: method, path without the query string (it is not
 * needed to trace a request and may carry tokens), status and duration. Headers are never logged,
 * so no key can reach this line. Level: error for 5xx, warn for 4xx, info otherwise. It carries
 * the request id (`req.id`) and, once authenticated, the tenant, from the request's context. Works
 * on plain Node requests, so the fast routes log the same line as the Express chain.
 */
export function accessLogMiddleware(logger: Logger): NodeMiddleware {
  return (req, res, next) => {
    const ctx = maybeRequestContext(req);
    const started = ctx?.startedAt ?? process.hrtime.bigint();
    // Express rewrites req.url inside mounted routers; originalUrl is what the client sent.
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url;
    res.once('finish', () => {
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { id: ctx?.requestId, method: req.method, path: pathOf(url) },
          tenant: ctx?.tenant?.tenantId,
          res: { statusCode: status },
          responseTime: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        },
        'request completed',
      );
    });
    next();
  };
}
