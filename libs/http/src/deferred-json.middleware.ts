import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { json } from 'express';
import { markStage, maybeRequestContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { assertReadableJson, BodyError, deferBodyError } from './json-body';
import { assertStorableText } from './storable-text';

/**
 * JSON body parsing whose failures (bad JSON, not UTF-8, over MAX_BODY_BYTES, a corrupt or
 * unsupported Content-Encoding, a string PostgreSQL cannot store, nesting deeper than any route
 * takes) are deferred: the error is kept
 * on the request context and raised by the auth guard after the key is resolved, so a tenant's
 * malformed request is still audited under its tenant. Requests without a context (should not
 * happen) fail immediately.
 */
export function deferredJsonMiddleware(maxBodyBytes: number): RequestHandler {
  const parse = json({
    limit: maxBodyBytes,
    strict: true,
    // The depth check also keeps class-transformer DTOs, which recurse, from overflowing.
    verify: (_req, _res, buf) => {
      try {
        assertReadableJson(buf);
      } catch (err) {
        // body-parser rewrites the status of what verify throws, which a GatewayError's is not
        // open to: carry it through as the cause of a plain body error (unwrapped below).
        if (!(err instanceof GatewayError)) throw err;
        throw new BodyError('entity.verify.failed', 400, err.message, { cause: err });
      }
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => {
      markStage(maybeRequestContext(req), 'body');
      let failure: unknown = err === undefined || err === null ? null : asBodyError(err);
      if (failure === null) {
        try {
          assertStorableText(req.body);
        } catch (unstorable) {
          failure = unstorable;
        }
      }
      if (failure === null) return next();
      const ctx = maybeRequestContext(req);
      if (!ctx) return next(failure);
      req.body = undefined;
      deferBodyError(ctx, res, failure);
      next();
    });
  };
}

/**
 * body-parser reports a body its decompressor cannot inflate (corrupt gzip, deflate or br) with
 * zlib's error and no `type`; name it, so it is a 400 like any other unreadable body and never
 * the bland 500 of an unknown error.
 */
function asBodyError(err: unknown): unknown {
  if (err instanceof BodyError && err.cause instanceof GatewayError) return err.cause;
  const e = err as { type?: unknown; status?: unknown; code?: unknown } | null;
  if (e === null || typeof e !== 'object' || typeof e.type === 'string') return err;
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new BodyError('encoding.corrupt', 400, 'body could not be decompressed');
  }
  return err;
}
