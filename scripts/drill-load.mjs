// npm run drill:load — sustained load on real gateway processes (the built dist/, so run
// `npm run build` first; the npm script does), against the local Postgres and Redis, which stay
// up throughout. Two phases, each with fresh gateway processes:
//
//   single:   one instance, DRILL_SINGLE_CONNECTIONS (200) keep-alive connections in a closed loop
//             for DRILL_SINGLE_SECONDS (60);
//   replicas: DRILL_REPLICAS (2) instances, DRILL_CLIENTS_PER_REPLICA (100) connections each, for
//             DRILL_REPLICA_SECONDS (60), repeated DRILL_REPLICA_ROUNDS (1) times.
//
// Every request is a cache miss (a unique prompt) of one tenant with a monthly budget, so each one
// takes a budget reservation and settles it: the path that used to fall back to Postgres when a
// CPU-starved gateway read Redis's replies late. Asserts no 5xx at all, and memory flat after
// warm-up (the first third of a phase), judged two ways:
//   - the heap after a full GC: every DRILL_GC_EVERY_SECONDS (10) the drill asks each gateway,
//     over an IPC channel, to run a full GC and report process.memoryUsage()
//     (scripts/drill-load-probe.mjs, preloaded with --expose-gc); heapUsed + external may grow by
//     at most DRILL_HEAP_GROWTH_MB (8) from the first sample after warm-up to the last. A leak
//     shows here as growth per request served (printed per 10k requests);
//   - RSS, sampled every 2 s: its least-squares slope over the second half of the phase at most
//     DRILL_RSS_SLOPE_MB_PER_MIN (60). A one-off step while V8 and the allocator grow to their
//     working size is not a leak; a steady climb is. First-vs-last RSS is printed, not judged.
// Prints throughput, latency, status counts, RSS samples and the event-loop delay p99 (the
// gateway's own `nodejs_eventloop_lag_p99_seconds`, scraped every 2 s; the forced GCs' pauses are
// printed beside it, since they land in it) and exits 1 on a miss.
//
// `--short` (CI): 10 s per phase; memory is reported, not judged (10 s ends before warm-up).
// Isolation: a throwaway database on the local Postgres (dropped at the end), a random Redis key
// prefix, free ports only.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { Client } = require('pg');
const { Pool } = require('undici');

const short = process.argv.includes('--short');
const env = process.env;
const num = (name, fallback) => {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: "${v}" is not a positive number`);
  return n;
};
const settings = {
  singleConnections: num('DRILL_SINGLE_CONNECTIONS', 200),
  singleSeconds: num('DRILL_SINGLE_SECONDS', short ? 10 : 60),
  replicas: num('DRILL_REPLICAS', 2),
  clientsPerReplica: num('DRILL_CLIENTS_PER_REPLICA', 100),
  replicaSeconds: num('DRILL_REPLICA_SECONDS', short ? 10 : 60),
  replicaRounds: num('DRILL_REPLICA_ROUNDS', 1),
  heapGrowthMb: num('DRILL_HEAP_GROWTH_MB', 8),
  rssSlopeMbPerMin: num('DRILL_RSS_SLOPE_MB_PER_MIN', 60),
  gcEverySeconds: num('DRILL_GC_EVERY_SECONDS', 10),
  mockLatencyMs: num('DRILL_MOCK_LATENCY_MS', 20),
  pgAdminUrl: env.DRILL_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: env.DRILL_REDIS_URL ?? 'redis://127.0.0.1:6379',
};
const MAIN_JS = join(root, 'dist/apps/gateway/src/main.js');
const PROBE_URL = new URL('./drill-load-probe.mjs', import.meta.url).href;

function log(line) {
  process.stdout.write(`${line}\n`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function spawnGateway(sharedEnv) {
  const port = await freePort();
  let out = '';
  // Each process needs its own audit spool: the spool's lock refuses a directory another live
  // gateway owns.
  const spoolDir = mkdtempSync(join(tmpdir(), 'drill-load-spool-'));
  const child = spawn(process.execPath, ['--expose-gc', '--import', PROBE_URL, MAIN_JS], {
    cwd: root,
    env: {
      PATH: env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      AUDIT_SPOOL_DIR: spoolDir,
      ...sharedEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const replies = new Map();
  child.on('message', (msg) => {
    if (msg?.type === 'drill-load:memory') replies.get(msg.id)?.(msg);
  });
  let probes = 0;
  child.stdout.on('data', (d) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr.on('data', (d) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited early:\n${out}`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway not ready in 90 s:\n${out}`);
    }
    await sleep(100);
  }
  return {
    url,
    pid: child.pid,
    output: () => out,
    /** A full GC in the gateway, then its process.memoryUsage() (bytes) and the GC's pause. */
    memoryAfterGc(timeoutMs = 10_000) {
      const id = ++probes;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          replies.delete(id);
          resolve(null);
        }, timeoutMs);
        replies.set(id, (msg) => {
          clearTimeout(timer);
          replies.delete(id);
          resolve(msg);
        });
        child.send({ type: 'drill-load:gc', id });
      });
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function eventLoopP99Ms(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^nodejs_eventloop_lag_p99_seconds\s+([0-9.eE+-]+)/m.exec(text);
  return m ? Number(m[1]) * 1000 : NaN;
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Closed loop: `connections` workers, each sending its next request when the last one answered. */
async function load(url, apiKey, connections, seconds, tag, counter) {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const statuses = new Map();
  const latencies = [];
  const serverErrors = [];
  let seq = 0;
  const until = Date.now() + seconds * 1000;
  const worker = async () => {
    while (Date.now() < until) {
      const n = seq++;
      const start = performance.now();
      let status;
      let body = '';
      try {
        const res = await pool.request({
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
          body: JSON.stringify({
            model: 'drill-mock',
            messages: [{ role: 'user', content: `${tag} request ${n}: say something short` }],
            max_tokens: 16,
          }),
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        });
        status = res.statusCode;
        body = await res.body.text();
      } catch (err) {
        status = `error:${err.code ?? err.message}`;
      }
      latencies.push(performance.now() - start);
      counter.requests++;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if ((typeof status !== 'number' || status >= 500) && serverErrors.length < 5)
        serverErrors.push(`${status} ${body.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  await pool.close();
  latencies.sort((a, b) => a - b);
  const fivexx = [...statuses].reduce(
    (s, [k, v]) => s + (typeof k !== 'number' || k >= 500 ? v : 0),
    0,
  );
  return { statuses, latencies, fivexx, serverErrors, requests: latencies.length };
}

/**
 * Samples each gateway every `everyMs`: RSS (MB) and its event-loop delay p99 (ms); and every
 * `gcEveryMs` its heap after a forced full GC (MB), with the requests it had served by then.
 */
function sampler(gateways, counters, everyMs, gcEveryMs) {
  const started = Date.now();
  const rss = gateways.map(() => []);
  const loopP99 = gateways.map(() => []);
  const heap = gateways.map(() => []);
  let running = true;
  let nextGc = started + gcEveryMs;
  const done = (async () => {
    while (running) {
      await sleep(everyMs);
      const t = (Date.now() - started) / 1000;
      const gc = Date.now() >= nextGc;
      if (gc) nextGc += gcEveryMs;
      for (const [i, gw] of gateways.entries()) {
        rss[i].push({ t, mb: rssMb(gw.pid) });
        loopP99[i].push(await eventLoopP99Ms(gw.url).catch(() => NaN));
        if (gc) {
          const requests = counters[i].requests;
          const m = await gw.memoryAfterGc();
          if (m)
            heap[i].push({
              t,
              requests,
              // What the process still references: the JS heap and the buffers it holds.
              mb: (m.heapUsed + m.external) / MB,
              heapMb: m.heapUsed / MB,
              rssMb: m.rss / MB,
              pauseMs: m.pauseMs,
            });
        }
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { rss, loopP99, heap };
    },
  };
}

/** Least-squares slope of `y` over `x` (units of y per unit of x); NaN with fewer than 2 points. */
function slope(points) {
  if (points.length < 2) return NaN;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den > 0 ? num / den : NaN;
}

async function createTenant(url, adminKey) {
  const res = await fetch(`${url}/api/v1/admin/tenants`, {
    method: 'POST',
    headers: { 'X-API-Key': adminKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name: `drill-load-${randomBytes(3).toString('hex')}`,
      rate_limit: 1_000_000,
      monthly_budget: 100_000,
    }),
  });
  if (res.status !== 201) throw new Error(`create tenant: ${res.status} ${await res.text()}`);
  return res.json();
}

const MB = 1024 * 1024;
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

/** Runs one phase on fresh processes; returns the list of misses (empty when it passed). */
async function phase(name, replicas, connectionsEach, seconds, sharedEnv, adminKey) {
  const gateways = [];
  try {
    for (let i = 0; i < replicas; i++) gateways.push(await spawnGateway(sharedEnv));
    const tenant = await createTenant(gateways[0].url, adminKey);
    const counters = gateways.map(() => ({ requests: 0 }));
    const samples = sampler(gateways, counters, 2_000, settings.gcEverySeconds * 1000);
    const started = Date.now();
    const results = await Promise.all(
      gateways.map((gw, i) =>
        load(gw.url, tenant.api_key, connectionsEach, seconds, `${name}${i}`, counters[i]),
      ),
    );
    const elapsed = (Date.now() - started) / 1000;
    const { rss, loopP99, heap } = await samples.stop();
    const misses = [];
    const all = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const statuses = new Map();
    for (const r of results)
      for (const [k, v] of r.statuses) statuses.set(k, (statuses.get(k) ?? 0) + v);
    const fivexx = results.reduce((s, r) => s + r.fivexx, 0);
    log(
      `${name}: ${replicas} instance(s) × ${connectionsEach} connections, ${fmt(elapsed, 0)} s: ` +
        `${all.length} requests (${fmt(all.length / elapsed, 0)}/s), p50 ${fmt(quantile(all, 0.5))} ms, ` +
        `p99 ${fmt(quantile(all, 0.99))} ms, max ${fmt(all[all.length - 1])} ms`,
    );
    log(`  statuses: ${[...statuses].map(([k, v]) => `${k}=${v}`).join(' ')}; 5xx: ${fivexx}`);
    if (fivexx > 0) {
      misses.push(`${name}: ${fivexx} 5xx`);
      for (const r of results) for (const e of r.serverErrors.slice(0, 2)) log(`  e.g. ${e}`);
      for (const [i, gw] of gateways.entries()) {
        const lines = gw.output().trim().split('\n').slice(-8);
        log(`  instance ${i}, last log lines:\n    ${lines.join('\n    ')}`);
      }
    }
    if (!statuses.has(200)) misses.push(`${name}: no request succeeded`);
    for (const [i, series] of rss.entries()) {
      // Warm-up is the first third; "flat" is judged on what follows, two ways (docs/BENCHMARKS.md,
      // Load drill): the heap after a full GC (what the process still references: a leak shows as
      // growth per request served) and the slope of RSS over the second half (a steady climb, not
      // a one-off step of the allocator, which V8 and glibc keep mapped once grown).
      const warmS = seconds / 3;
      const heaps = heap[i].filter((h) => h.t >= warmS);
      const h0 = heaps[0];
      const h1 = heaps[heaps.length - 1];
      const heapGrowth = h0 && h1 ? h1.mb - h0.mb : NaN;
      const served = h0 && h1 ? h1.requests - h0.requests : 0;
      const perTenK = served > 0 ? (heapGrowth * 1024 * 10_000) / served : NaN;
      const secondHalf = series.filter((p) => p.t >= seconds / 2);
      const rssSlope = slope(secondHalf.map((p) => ({ x: p.t / 60, y: p.mb })));
      const warm = series.find((p) => p.t >= warmS)?.mb ?? NaN;
      const last = series[series.length - 1]?.mb ?? NaN;
      const loops = loopP99[i].filter(Number.isFinite).sort((a, b) => a - b);
      const pauses = heap[i].map((h) => h.pauseMs);
      log(
        `  instance ${i}: RSS after warm-up ${fmt(warm, 0)} MB → end ${fmt(last, 0)} MB ` +
          `(${last - warm >= 0 ? '+' : ''}${fmt(last - warm)} MB), slope over the second half ` +
          `${fmt(rssSlope)} MB/min; samples ${series.map((p) => fmt(p.mb, 0)).join(' ')}`,
      );
      log(
        `    after a forced GC, heap + external MB (RSS MB) at s: ${heap[i]
          .map((h) => `${fmt(h.mb)} (${fmt(h.rssMb, 0)})@${fmt(h.t, 0)}s`)
          .join(' ')}; after warm-up ${fmt(h0?.mb)} → ${fmt(h1?.mb)} MB over ${served} requests ` +
          `(${fmt(perTenK)} KB per 10k); forced GC pause max ${fmt(Math.max(...pauses, 0))} ms`,
      );
      log(
        `    event-loop delay p99 per 2 s: median ${fmt(quantile(loops, 0.5))} ms, ` +
          `max ${fmt(loops[loops.length - 1])} ms`,
      );
      // A 10 s short run ends before warm-up does: it reports memory but only the long run judges it.
      if (short) continue;
      if (!(heapGrowth <= settings.heapGrowthMb))
        misses.push(
          `${name}: instance ${i} heap + external after GC grew ${fmt(heapGrowth)} MB after warm-up ` +
            `(${fmt(perTenK)} KB per 10k requests; bound ${settings.heapGrowthMb} MB)`,
        );
      if (!(rssSlope <= settings.rssSlopeMbPerMin))
        misses.push(
          `${name}: instance ${i} RSS climbed ${fmt(rssSlope)} MB/min over the second half ` +
            `(bound ${settings.rssSlopeMbPerMin})`,
        );
    }
    return misses;
  } catch (err) {
    for (const gw of gateways) log(`--- gateway output:\n${gw.output()}`);
    throw err;
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
  }
}

async function main() {
  const dbName = `llmgw_drill_load_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: settings.pgAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  const dir = mkdtempSync(join(tmpdir(), 'drill-load-'));
  const catalog = join(dir, 'catalog.yaml');
  writeFileSync(
    catalog,
    `providers:\n  mock: { type: mock, latency_ms: ${settings.mockLatencyMs} }\n` +
      'models:\n  drill-mock:\n    - { provider: mock, model: drill-1 }\n' +
      'pricing:\n  mock/drill-1: { input: 1.00, output: 2.00, max_output_tokens: 1024 }\n',
  );
  const adminKey = `admin-${randomBytes(24).toString('hex')}`;
  const sharedEnv = {
    DATABASE_URL: settings.pgAdminUrl.replace(/\/[^/]*$/, `/${dbName}`),
    DB_MIGRATE_ON_BOOT: 'true',
    REDIS_URL: settings.redisUrl,
    REDIS_KEY_PREFIX: `drill-load-${randomBytes(4).toString('hex')}:`,
    ADMIN_API_KEY: adminKey,
    GATEWAY_CONFIG: catalog,
    LOG_LEVEL: 'warn',
    LOG_REQUESTS: 'false',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    SHUTDOWN_GRACE_MS: '5000',
  };
  log(
    `drill:load${short ? ' (short)' : ''}: mock provider ${settings.mockLatencyMs} ms, ` +
      `budgeted tenant, every request a cache miss; Postgres and Redis shared and up`,
  );
  const misses = [];
  try {
    misses.push(
      ...(await phase(
        'single',
        1,
        settings.singleConnections,
        settings.singleSeconds,
        sharedEnv,
        adminKey,
      )),
    );
    for (let round = 1; round <= settings.replicaRounds; round++) {
      misses.push(
        ...(await phase(
          `replicas#${round}`,
          settings.replicas,
          settings.clientsPerReplica,
          settings.replicaSeconds,
          sharedEnv,
          adminKey,
        )),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const c = new Client({ connectionString: settings.pgAdminUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await c.end();
  }
  if (misses.length > 0) {
    log(`drill:load FAILED:\n  ${misses.join('\n  ')}`);
    process.exit(1);
  }
  log(
    `drill:load passed: 0 5xx${short ? ' (RSS reported, judged only in the long run)' : ', RSS flat after warm-up'}`,
  );
}

main().catch((err) => {
  process.stderr.write(`drill:load failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
