import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoggerService } from '@nestjs/common';
import { maybeRequestContext } from '@gateway/context';
import { mapError } from './error-mapping';
import type { ErrorObserver } from './error-observer';

/** Writes a JSON response with Express's `res.json` headers, on a plain Node response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * Answers an error as docs/api.md §4 says, for the exception filter and the fast routes alike: maps
 * it, logs it if it is a bug, lets the observer make the failure's record durable first, then
 * answers (a 503 instead if that record could not be written: the client must not believe the
 * request was accounted).
 */
export async function answerError(
  exception: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  observer: ErrorObserver | undefined,
  logger: LoggerService,
): Promise<void> {
  const requestId =
    maybeRequestContext(req)?.requestId ?? String(res.getHeader('x-request-id') ?? '');
  const mapped = mapError(exception, requestId);
  if (mapped.unexpected) {
    logger.error({ err: exception, requestId }, 'unhandled error');
  }
  if (observer) {
    try {
      await observer.onError(req, mapped);
    } catch (err) {
      logger.error({ err, requestId }, 'audit of failed request failed');
      const fallback = mapError(err, requestId);
      if (!res.headersSent) sendJson(res, fallback.status, fallback.body);
      return;
    }
  }
  if (res.headersSent) return;
  for (const name in mapped.headers) res.setHeader(name, mapped.headers[name]);
  sendJson(res, mapped.status, mapped.body);
}
