import { type AddressInfo, createServer, type Server, Socket } from 'node:net';
import { PG_ADMIN_URL } from './database';

/**
 * A TCP proxy in front of the shared Postgres, so a test can take Postgres away from the code
 * under test without touching the server everyone shares: `stop()` is an outage (open connections
 * cut, new ones reset), `freeze()` a hang (sockets stay open, nothing is forwarded).
 */
export class PgProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  // An outage resets connections but keeps the port: a released ephemeral port can be taken by
  // any outgoing connection on the machine before we listen again.
  private down = false;
  private frozen = false;
  private readonly target = new URL(PG_ADMIN_URL);
  port = 0;

  /** Listens (on a free port, kept for the proxy's life), or recovers after stop(). */
  async start(): Promise<void> {
    this.down = false;
    if (this.server) return;
    this.server = createServer((client) => {
      if (this.down) {
        client.destroy();
        return;
      }
      const upstream = new Socket();
      for (const [s, other] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          other.destroy();
        });
      }
      upstream.connect(Number(this.target.port || 5432), this.target.hostname);
      client.pipe(upstream).pipe(client);
      // After pipe(), which resumes its source: a connection opened while frozen hangs too.
      if (this.frozen) for (const s of [client, upstream]) s.pause();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The URL of `database` through the proxy. */
  url(database: string): string {
    return `postgres://${this.target.username}@127.0.0.1:${this.port}/${database}`;
  }

  /** Postgres "goes away": open connections are cut and new ones are reset. */
  stop(): Promise<void> {
    this.down = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    return Promise.resolve();
  }

  /** Postgres "hangs": every connection, open or new, stops forwarding until thaw(). */
  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const s of this.sockets) s.resume();
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
    this.server = null;
  }
}

/** A started proxy. */
export async function startPgProxy(): Promise<PgProxy> {
  const proxy = new PgProxy();
  await proxy.start();
  return proxy;
}
