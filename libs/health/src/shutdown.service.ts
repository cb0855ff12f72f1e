import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

/** How often idle keep-alive sockets are closed while draining. */
const IDLE_SWEEP_MS = 100;

function closeAfterResponse(_req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('Connection', 'close');
}

/**
 * The draining state of this instance. `startDraining()` (main.ts calls it on SIGTERM; the shutdown
 * hooks call it as a backstop) turns readiness and `/health` to 503 at once, while the server keeps
 * serving until the caller closes the listener (SHUTDOWN_DRAIN_DELAY_MS later). From then on every
 * response carries `Connection: close`, so keep-alive clients reconnect elsewhere without racing a
 * socket we close under them. Once the listener is closed, idle keep-alive sockets are closed too:
 * Node's `server.close()` waits for every open socket, and an idle keep-alive socket would otherwise
 * stay open for HTTP_KEEP_ALIVE_TIMEOUT_MS (65 s), so every drain would last the full grace period.
 */
@Injectable()
export class ShutdownService
  implements OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('Shutdown');
  private since: Date | null = null;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  get draining(): boolean {
    return this.since !== null;
  }

  /** When draining started, or null. */
  get drainingSince(): Date | null {
    return this.since;
  }

  /** Idempotent. Does not stop the listener: the caller closes the server when it is time. */
  startDraining(): void {
    if (this.since) return;
    this.since = new Date();
    this.logger.log('draining: readiness now answers 503; in-flight requests will finish');
    const server = this.httpServer();
    if (!server) return;
    // Prepended so the header is set before any handler can start writing the response.
    server.prependListener('request', closeAfterResponse);
    // Only after the listener is closed: closing an idle socket while clients may still pick it
    // (the LB has not noticed yet) races their next request into a reset.
    const sweeper = setInterval(() => {
      if (!server.listening) server.closeIdleConnections();
    }, IDLE_SWEEP_MS);
    sweeper.unref();
    this.sweeper = sweeper;
    server.once('close', () => this.stopSweeper());
  }

  /**
   * The first hook of `app.close()`, before any connection pool is torn down: an app closed without
   * main.ts's signal handler (tests, embedding) still reports draining while it stops.
   */
  onModuleDestroy(): void {
    this.startDraining();
  }

  beforeApplicationShutdown(): void {
    this.startDraining();
  }

  onApplicationShutdown(): void {
    this.stopSweeper();
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  private httpServer(): Server | null {
    const adapter = this.adapterHost?.httpAdapter;
    if (!adapter) return null;
    const server = adapter.getHttpServer() as Server | undefined;
    return server && typeof server.closeIdleConnections === 'function' ? server : null;
  }
}
