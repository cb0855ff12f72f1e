import type { IncomingHttpHeaders } from 'node:http';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { StringDecoder } from 'node:string_decoder';
import { type Dispatcher, Pool } from 'undici';
import { GatewayConfigService, type ProviderConfig } from '@gateway/config';
import type { WireRequest } from '../adapters/wire';
import { ProviderError } from '../provider.error';

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A streamed answer whose head has arrived. `chunks` yields the body as text, decoded across chunk
 * boundaries; each chunk must arrive within the attempt's timeout of the previous one. Every
 * failure is a ProviderError. `close` destroys the connection at once (a stream abandoned halfway
 * cannot be reused, and the provider must stop generating for nobody).
 */
export interface UpstreamStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  chunks(): AsyncGenerator<string>;
  /** The whole body (size-capped), for a non-2xx answer's error. */
  text(): Promise<string>;
  close(): void;
}

/**
 * Connections per provider: beyond this, calls queue (and the queueing counts against their
 * timeout). A stream holds its connection for its whole life, so this is also the number of
 * concurrent streams one provider can carry per replica.
 */
const MAX_CONNECTIONS = 1024;
const MAX_CONNECT_TIMEOUT_MS = 10_000;
/** Below typical provider idle timeouts, so we rarely reuse a socket the other side just closed. */
const KEEP_ALIVE_MS = 10_000;

interface Target {
  readonly pool: Pool;
  /** The base URL's path (`/v1` for OpenAI), prefixed to every adapter path. */
  readonly basePath: string;
}

/**
 * The one upstream HTTP client: a keep-alive undici Pool per provider, a connect timeout,
 * a total per-attempt timeout, the caller's abort, a response size cap, and no redirect following
 * (undici's `request` does not follow them; a 3xx reaches the adapter as an unexpected status).
 * Every failure to get a complete response is a ProviderError; any HTTP status is returned as is.
 */
@Injectable()
export class UpstreamClient implements OnModuleDestroy {
  /** One per catalog provider with a base URL: bounded by the catalog. */
  private readonly targets = new Map<string, Target>();

  constructor(config: GatewayConfigService) {
    for (const provider of config.catalog.providers.values()) {
      if (provider.baseUrl === null) continue;
      const url = new URL(provider.baseUrl);
      this.targets.set(provider.name, {
        basePath: url.pathname.replace(/\/+$/, ''),
        pool: new Pool(url.origin, {
          connections: MAX_CONNECTIONS,
          connect: { timeout: Math.min(provider.timeoutMs, MAX_CONNECT_TIMEOUT_MS) },
          headersTimeout: provider.timeoutMs,
          bodyTimeout: provider.timeoutMs,
          keepAliveTimeout: KEEP_ALIVE_MS,
          maxResponseSize: provider.maxResponseBytes,
        }),
      });
    }
  }

  async send(
    provider: ProviderConfig,
    wire: WireRequest,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<UpstreamResponse> {
    const target = this.targets.get(provider.name);
    if (!target) throw new Error(`no upstream transport for provider ${provider.name}`);
    if (signal?.aborted) throw new ProviderError('aborted', 'the caller cancelled the request');

    // One controller per attempt: fired by our deadline or by the caller, whichever comes first.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onCallerAbort = () => controller.abort();
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const res = await target.pool.request({
        path: target.basePath + wire.path,
        method: wire.method,
        headers: wire.headers,
        body: wire.body,
        signal: controller.signal,
      });
      const max = provider.maxResponseBytes;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > max) {
        res.body.destroy();
        throw tooLarge(max);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > max) {
          res.body.destroy();
          throw tooLarge(max);
        }
        chunks.push(chunk);
      }
      return {
        status: res.statusCode,
        headers: res.headers,
        body: Buffer.concat(chunks, size).toString('utf8'),
      };
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      throw classify(err, timedOut, timeoutMs, signal);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /**
   * Starts a streamed call: resolves when the answer's head arrives (within `timeoutMs`), after
   * which `timeoutMs` becomes the idle limit between body chunks. The caller's abort, or `close()`,
   * destroys the upstream connection at any time.
   */
  async stream(
    provider: ProviderConfig,
    wire: WireRequest,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<UpstreamStream> {
    const target = this.targets.get(provider.name);
    if (!target) throw new Error(`no upstream transport for provider ${provider.name}`);
    if (signal?.aborted) throw new ProviderError('aborted', 'the caller cancelled the request');

    const controller = new AbortController();
    let timedOut = false;
    let timer: NodeJS.Timeout | null = null;
    const arm = () => {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
    };
    const disarm = () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    };
    const onCallerAbort = () => controller.abort();
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    const done = () => {
      disarm();
      signal?.removeEventListener('abort', onCallerAbort);
    };
    arm();
    let res: Dispatcher.ResponseData;
    try {
      res = await target.pool.request({
        path: target.basePath + wire.path,
        method: wire.method,
        headers: wire.headers,
        body: wire.body,
        signal: controller.signal,
      });
    } catch (err) {
      done();
      throw classify(err, timedOut, timeoutMs, signal);
    }
    const max = provider.maxResponseBytes;
    const body = res.body;
    const close = () => {
      done();
      if (!controller.signal.aborted) controller.abort();
      body.destroy();
    };
    return {
      status: res.statusCode,
      headers: res.headers,
      close,
      async text(): Promise<string> {
        let out = '';
        try {
          for await (const piece of readChunks(body, max, arm, disarm)) out += piece;
          return out;
        } catch (err) {
          throw err instanceof ProviderError ? err : classify(err, timedOut, timeoutMs, signal);
        } finally {
          close();
        }
      },
      async *chunks(): AsyncGenerator<string> {
        try {
          yield* readChunks(body, max, arm, disarm);
          done();
        } catch (err) {
          throw err instanceof ProviderError ? err : classify(err, timedOut, timeoutMs, signal);
        } finally {
          // Also reached when the consumer stops early (return()): the connection goes with it.
          if (!body.readableEnded) close();
        }
      },
    };
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(
      [...this.targets.values()].map((t) => t.pool.destroy().catch(() => undefined)),
    );
  }
}

function tooLarge(max: number): ProviderError {
  return new ProviderError('too_large', `response larger than ${max} bytes`);
}

/** Transport failures → the typed error; the message names the failure, never the address or key. */
function classify(
  err: unknown,
  timedOut: boolean,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): ProviderError {
  if (timedOut) {
    return new ProviderError('timeout', `timed out after ${timeoutMs} ms`, { cause: err });
  }
  if (signal?.aborted) {
    return new ProviderError('aborted', 'the caller cancelled the request', { cause: err });
  }
  const code = errorCode(err);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new ProviderError('timeout', 'timed out', { cause: err });
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return new ProviderError('too_large', 'response too large', { cause: err });
    case 'ECONNREFUSED':
      return new ProviderError('connection', 'connection refused', { cause: err });
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return new ProviderError('connection', 'connection closed before the answer was complete', {
        cause: err,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ProviderError('connection', 'host not found', { cause: err });
    default:
      if (code?.startsWith('HPE_')) {
        return new ProviderError('invalid_response', 'malformed HTTP response', { cause: err });
      }
      return new ProviderError('connection', 'connection failed', { cause: err });
  }
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === 'string') return e.code;
  // Happy-eyeballs connects fail with an AggregateError of per-address errors.
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0]);
  return e.cause === undefined ? undefined : errorCode(e.cause);
}

/**
 * The body as UTF-8 text pieces, capped in total. The idle timer runs only while waiting for the
 * provider: not while the consumer holds a piece (a slow client is not a stalled provider).
 */
async function* readChunks(
  body: Dispatcher.ResponseData['body'],
  max: number,
  arm: () => void,
  disarm: () => void,
): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw tooLarge(max);
    const text = decoder.write(chunk);
    if (text !== '') {
      disarm();
      yield text;
      arm();
    }
  }
  const rest = decoder.end();
  if (rest !== '') yield rest;
}
