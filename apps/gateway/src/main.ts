import 'reflect-metadata';
import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig, type GatewayConfig } from '@gateway/config';
import { ShutdownService } from '@gateway/health';
import { createGatewayApp } from './bootstrap';

function readConfig(): GatewayConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      // docs/api.md §4 and §7: plain text on stderr, one line per problem, exit code 1.
      process.stderr.write(`${err.problems.join('\n')}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const app = await createGatewayApp(config);
  const server: Server = app.getHttpServer();
  // Longer than load balancers' idle timeouts (ALB: 60 s) so the LB, not us, closes idle sockets.
  server.keepAliveTimeout = config.server.keepAliveTimeoutMs;
  server.headersTimeout = config.server.keepAliveTimeoutMs + 1_000;
  await app.listen(config.server.port, config.server.host);
  const log = new Logger('Main');
  log.log(`llm-gateway listening on http://${config.server.host}:${config.server.port}`);

  // A stray rejection inside a client library (e.g. ioredis re-subscribing while a connection is
  // being closed) must not take down a process serving other requests: log it and carry on.
  process.on('unhandledRejection', (reason: unknown) => {
    log.error({ err: reason }, 'unhandled promise rejection');
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log(`${signal}: draining`);
    // Readiness turns 503 at once while we keep serving, so load balancers take us out of rotation;
    // then the listener closes, in-flight requests finish, records flush, and we exit 0.
    app.get(ShutdownService).startDraining();
    if (signal === 'SIGTERM' && config.server.shutdownDrainDelayMs > 0) {
      await new Promise((r) => setTimeout(r, config.server.shutdownDrainDelayMs));
    }
    await closeServer(server, config.server.shutdownGraceMs);
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/** Stops accepting, lets in-flight requests finish (bounded by the grace period), closes idle sockets. */
function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

void main().catch((err: unknown) => {
  process.stderr.write(
    `fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
