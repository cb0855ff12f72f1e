import type { Request, Response } from 'express';
import type { Params } from 'nestjs-pino';
import type { GatewayConfig } from '@gateway/config';
import { maybeRequestContext } from '@gateway/context';

/**
 * Every credential path is redacted, and requests are serialized by hand (method, path, id) so no
 * header — where keys travel — ever reaches a log line in the first place.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  '*.api_key',
  '*.apiKey',
  '*.adminApiKey',
  '*.alert_webhook_secret',
  '*.authorization',
  '*["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
];

export function loggerOptions(config: GatewayConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      autoLogging: config.logRequests,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      genReqId: (req) => maybeRequestContext(req as Request)?.requestId ?? 'unknown',
      customProps: (req) => {
        const ctx = maybeRequestContext(req as Request);
        return ctx?.tenant ? { tenant: ctx.tenant.tenantId } : {};
      },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          // Query strings are dropped: they are not needed to trace a request and may carry tokens.
          path: req.url.split('?')[0],
        }),
        res: (res: Response) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    },
  };
}
