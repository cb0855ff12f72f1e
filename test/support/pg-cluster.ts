import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/*
 * A throwaway PostgreSQL cluster (initdb + pg_ctl in a temp dir, on a free port) for fault tests
 * and drills that stop or freeze the database: never the shared server on 5432. As root (this
 * machine, containers) the cluster runs as the `postgres` user, since postgres refuses root.
 */

const run = promisify(execFile);
const clusters = new Set<PgCluster>();
// A crashed run must not leave a postmaster behind (stopped or frozen).
process.once('exit', () => {
  for (const c of clusters) c.killNow();
});

function binDir(): string {
  const candidates = [
    process.env.PG_BIN,
    '/usr/lib/postgresql/15/bin',
    '/usr/lib/postgresql/16/bin',
  ];
  for (const dir of candidates) if (dir && existsSync(join(dir, 'pg_ctl'))) return dir;
  throw new Error('pg_ctl not found: install postgresql-15 or set PG_BIN');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

interface RunAs {
  uid?: number;
  gid?: number;
}

function runAs(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export class PgCluster {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly bin: string,
    private readonly as: RunAs,
  ) {}

  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** initdb (trust auth, fsync off: a test cluster need not survive a host crash) and start. */
  static async start(): Promise<PgCluster> {
    const bin = binDir();
    const as = runAs();
    const dir = mkdtempSync(join(tmpdir(), 'llmgw-pg-'));
    if (as.uid !== undefined) chownSync(dir, as.uid, as.gid ?? as.uid);
    await run(
      join(bin, 'initdb'),
      ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
      { ...as, env: { ...process.env, LC_ALL: 'C' } },
    );
    const cluster = new PgCluster(await freePort(), dir, bin, as);
    clusters.add(cluster);
    await cluster.resume();
    return cluster;
  }

  /** Starts (again) after `stop()`, waiting until it accepts connections. */
  async resume(): Promise<void> {
    await run(
      join(this.bin, 'pg_ctl'),
      [
        '-D',
        join(this.dir, 'data'),
        '-l',
        join(this.dir, 'log'),
        '-w',
        '-t',
        '60',
        '-o',
        `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
        'start',
      ],
      this.as,
    );
  }

  /** Stops at once (connections are cut, nothing listens): a database that went away. */
  async stop(): Promise<void> {
    await run(
      join(this.bin, 'pg_ctl'),
      ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop'],
      this.as,
    );
  }

  /** SIGSTOP to the postmaster and every backend: sockets stay open and nothing answers. */
  freeze(): void {
    for (const pid of this.pids()) signal(pid, 'SIGSTOP');
  }

  thaw(): void {
    for (const pid of this.pids().reverse()) signal(pid, 'SIGCONT');
  }

  async destroy(): Promise<void> {
    this.thaw();
    await this.stop().catch(() => undefined);
    clusters.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous last resort for process exit. */
  killNow(): void {
    for (const pid of this.pids()) {
      signal(pid, 'SIGCONT');
      signal(pid, 'SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private pids(): number[] {
    const pidFile = join(this.dir, 'data', 'postmaster.pid');
    if (!existsSync(pidFile)) return [];
    const postmaster = Number(execFileSync('head', ['-1', pidFile]).toString().trim());
    if (!Number.isSafeInteger(postmaster) || postmaster <= 0) return [];
    let children: number[] = [];
    try {
      children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)])
        .toString()
        .split('\n')
        .map((s) => Number(s.trim()))
        .filter((n) => n > 0);
    } catch {
      // No children (or ps found none): only the postmaster.
    }
    return [postmaster, ...children];
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}
