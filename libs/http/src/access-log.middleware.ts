import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { maybeRequestContext } from '@gateway/context';

/**
 * One access line per request when it finishes: method, path without the query string (it is not
 * needed to trace a request and may carry tokens), status and duration. Headers are never logged,
 * so no key can reach this line. Level: error for 5xx, warn for 4xx, info otherwise. The request
 * id and tenant come from the logger's mixin, like on every other line of the request.
 */
export function accessLogMiddleware(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const ctx = maybeRequestContext(req);
    const started = ctx?.startedAt ?? process.hrtime.bigint();
    res.once('finish', () => {
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { id: ctx?.requestId, method: req.method, path: req.originalUrl.split('?')[0] },
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
