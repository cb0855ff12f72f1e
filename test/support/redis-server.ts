import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/*
 * Throwaway redis-server instances and clusters for fault tests (kill, SIGSTOP, restart empty,
 * cluster mode). They listen on 127.0.0.1 on free ports, keep nothing on disk that outlives the
 * test, and are never the shared Redis on 6379.
 */

const run = promisify(execFile);
const children = new Set<ChildProcess>();
// A crashed test run must not leave servers behind.
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: the data is gone (no persistence). */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing answers. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** Starts a fresh, empty server on the same port (after kill()). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisCluster {
  readonly ports: readonly number[];
  /** For REDIS_CLUSTER_NODES. */
  readonly nodes: string;
  stop(): Promise<void>;
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port whose cluster-bus port (+10000) is free too. */
async function freeRedisPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
  throw new Error('no free port for redis-server');
}

async function ping(port: number): Promise<boolean> {
  try {
    const { stdout } = await run('redis-cli', ['-p', String(port), '--no-raw', 'ping'], {
      timeout: 1_000,
    });
    return stdout.includes('PONG');
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function spawnServer(port: number, dir: string, extra: string[] = []): ChildProcess {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--loglevel',
      'warning',
      ...extra,
    ],
    { stdio: 'ignore' },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function killChild(
  child: ChildProcess | null,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGCONT');
  child.kill(signal);
  await exited;
}

/** A standalone redis-server without persistence on a free port. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freeRedisPort();
  const dir = mkdtempSync(join(tmpdir(), 'llmgw-redis-'));
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawnServer(port, dir);
    await waitFor(() => ping(port), 10_000, `redis-server on ${port} answering`);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => killChild(child),
    freeze: () => {
      child?.kill('SIGSTOP');
    },
    thaw: () => {
      child?.kill('SIGCONT');
    },
    restart: async () => {
      await killChild(child);
      await start();
    },
    stop: async () => {
      await killChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A local Redis Cluster of `masters` masters (no replicas), created with redis-cli --cluster. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'llmgw-redis-cluster-'));
  const ports: number[] = [];
  const procs: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => killChild(p)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freeRedisPort();
      ports.push(port);
      procs.push(
        spawnServer(port, dir, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '2000',
        ]),
      );
    }
    for (const port of ports)
      await waitFor(() => ping(port), 10_000, `cluster node ${port} answering`);
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    await waitFor(
      async () => {
        for (const port of ports) {
          const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
          if (!stdout.includes('cluster_state:ok')) return false;
        }
        return true;
      },
      20_000,
      'cluster_state:ok on every node',
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), stop };
}
