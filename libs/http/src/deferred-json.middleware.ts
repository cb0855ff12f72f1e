import { isUtf8 } from 'node:buffer';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { json } from 'express';
import { maybeRequestContext } from '@gateway/context';
import { BodyError, deferBodyError } from './json-body';

/**
 * JSON body parsing whose failures (bad JSON, not UTF-8, over MAX_BODY_BYTES) are deferred: the
 * error is kept on the request context and raised by the auth guard after the key is resolved, so
 * a tenant's malformed request is still audited under its tenant. Requests without a context
 * (should not happen) fail immediately.
 */
export function deferredJsonMiddleware(maxBodyBytes: number): RequestHandler {
  const parse = json({
    limit: maxBodyBytes,
    strict: true,
    // Reject invalid UTF-8 instead of letting the decoder replace it with U+FFFD.
    verify: (_req, _res, buf) => {
      if (!isUtf8(buf)) throw new BodyError('encoding.unsupported', 400, 'body is not valid UTF-8');
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => {
      if (err === undefined || err === null) return next();
      const ctx = maybeRequestContext(req);
      if (!ctx) return next(err);
      req.body = undefined;
      deferBodyError(ctx, res, err);
      next();
    });
  };
}
