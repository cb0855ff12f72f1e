/*
 * The Postgres outage drill (`npm run drill:postgres`): the real gateway (in-process, over HTTP)
 * on a private Postgres cluster and a private Redis, under closed-loop clients, while Postgres is
 * stopped (pg_ctl stop -m immediate) and later frozen (SIGSTOP on every postgres process). After
 * recovery it checks, against Postgres itself:
 *
 * - max latency of any request ≤ DRILL_MAX_LATENCY_MS (5000);
 * - every acknowledged (2xx) request has its record (by its X-Request-Id);
 * - the spool drained (`/health` → `checks.audit_spool.records` = 0);
 * - no request id has two records.
 *
 * Prints the figures per phase; exits non-zero on any miss. Settings (environment): DRILL_SHORT=1
 * (CI: 20 clients, 3 s stop, 4 s freeze), DRILL_CLIENTS (100), DRILL_STOP_MS (10000),
 * DRILL_FREEZE_MS (15000), DRILL_WARMUP_MS (3000), DRILL_GAP_MS (5000), DRILL_CLIENT_TIMEOUT_MS
 * (30000), DRILL_MAX_LATENCY_MS (5000), DRILL_GATEWAY_ENV (extra `NAME=value,…` for the gateway).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { Pool } from 'undici';
import { dataSourceOptions } from '@gateway/persistence';
import { ENTITIES } from '../../apps/gateway/src/entities';
import { createTenant, startGateway, type TestGateway } from './app';
import type { TestDatabase } from './database';
import { startFakeUpstream } from './fake-upstream';
import { PgCluster } from './pg-cluster';
import { startRedisServer } from './redis-server';

type Phase = 'warmup' | 'stopped' | 'between' | 'frozen' | 'recovery';

interface Sample {
  id: string;
  phase: Phase;
  ms: number;
  status: number;
  code: string | null;
}

function num(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a non-negative number`);
  return n;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function privateDatabase(pg: PgCluster): Promise<TestDatabase> {
  const admin = new Client({ connectionString: pg.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE llmgw_drill');
  await admin.end();
  const url = pg.url('llmgw_drill');
  const dataSource = await new DataSource(
    dataSourceOptions({ url, migrateOnBoot: false, poolSize: 2 }, ENTITIES),
  ).initialize();
  await dataSource.runMigrations();
  return {
    name: 'llmgw_drill',
    url,
    dataSource,
    drop: () => dataSource.destroy().then(() => undefined),
  };
}

export async function runPostgresDrill(): Promise<boolean> {
  const short = process.env.DRILL_SHORT === '1';
  const clients = num('DRILL_CLIENTS', short ? 20 : 100);
  const warmupMs = num('DRILL_WARMUP_MS', short ? 2_000 : 3_000);
  const stopMs = num('DRILL_STOP_MS', short ? 3_000 : 10_000);
  const gapMs = num('DRILL_GAP_MS', short ? 3_000 : 5_000);
  const freezeMs = num('DRILL_FREEZE_MS', short ? 4_000 : 15_000);
  const clientTimeoutMs = num('DRILL_CLIENT_TIMEOUT_MS', 30_000);
  const maxLatencyMs = num('DRILL_MAX_LATENCY_MS', 5_000);
  const extraEnv = Object.fromEntries(
    (process.env.DRILL_GATEWAY_ENV ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

  const log = (s: string) => process.stdout.write(`${s}\n`);
  log(
    `drill:postgres — ${clients} clients; stop ${stopMs} ms, freeze ${freezeMs} ms${short ? ' (short)' : ''}`,
  );
  const pg = await PgCluster.start();
  const redis = await startRedisServer();
  const fake = await startFakeUpstream({ name: 'drill' });
  const spoolDir = mkdtempSync(join(tmpdir(), 'llmgw-drill-spool-'));
  let db: TestDatabase | null = null;
  let gw: TestGateway | null = null;
  const http = { pool: null as Pool | null };
  try {
    db = await privateDatabase(pg);
    gw = await startGateway({
      database: db,
      env: {
        REDIS_URL: redis.url,
        OPENAI_BASE_URL: `${fake.url}/v1`,
        ANTHROPIC_BASE_URL: fake.url,
        AUDIT_SPOOL_DIR: spoolDir,
        LOG_LEVEL: process.env.DRILL_LOG_LEVEL ?? 'silent',
        ...extraEnv,
      },
    });
    const tenant = await createTenant(gw, { rate_limit: 1_000_000, monthly_budget: 900_000 });
    const pool = new Pool(gw.url, { connections: clients + 8 });
    http.pool = pool;

    const samples: Sample[] = [];
    let phase: Phase = 'warmup';
    let running = true;
    let seq = 0;
    const body = JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'drill' }],
      max_tokens: 8,
    });
    const client = async (c: number) => {
      while (running) {
        const id = `drill-${c}-${seq++}`;
        const started = performance.now();
        const at = phase;
        let status = 0;
        let code: string | null = null;
        try {
          const res = await pool.request({
            method: 'POST',
            path: '/v1/chat/completions',
            headers: {
              'content-type': 'application/json',
              'x-api-key': tenant.api_key,
              'x-request-id': id,
              'cache-control': 'no-store',
            },
            body,
            headersTimeout: clientTimeoutMs,
            bodyTimeout: clientTimeoutMs,
          });
          status = res.statusCode;
          const text = await res.body.text();
          if (status >= 400) {
            try {
              const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
              // The code alone does not say which dependency refused: keep the message's start.
              code = `${e?.code ?? 'unknown'}(${(e?.message ?? '').slice(0, 32)})`;
            } catch {
              code = 'not_json';
            }
          }
        } catch (err) {
          code = err instanceof Error ? err.name : 'error';
        }
        samples.push({ id, phase: at, ms: performance.now() - started, status, code });
        // A refused request answers fast: a short pause keeps failing clients from spinning.
        if (status !== 200) await sleep(20);
      }
    };
    const loops = Array.from({ length: clients }, (_, c) => client(c));

    const marks: Record<string, number> = {};
    const t0 = performance.now();
    const mark = (name: string) => (marks[name] = Math.round(performance.now() - t0));
    await sleep(warmupMs);
    phase = 'stopped';
    mark('stop');
    await pg.stop();
    await sleep(stopMs);
    await pg.resume();
    mark('resumed');
    phase = 'between';
    await sleep(gapMs);
    phase = 'frozen';
    mark('freeze');
    pg.freeze();
    await sleep(freezeMs);
    pg.thaw();
    mark('thawed');
    phase = 'recovery';
    await sleep(gapMs);
    running = false;
    await Promise.all(loops);
    mark('load-stopped');

    // Recovery: the spool must drain into Postgres.
    const drainStart = performance.now();
    let spool = { records: -1, mode: 'unknown' };
    for (;;) {
      const h = await pool.request({ method: 'GET', path: '/health' });
      const j = (await h.body.json()) as { checks: { audit_spool?: typeof spool } };
      spool = j.checks.audit_spool ?? spool;
      if (spool.records === 0 || performance.now() - drainStart > 60_000) break;
      await sleep(100);
    }
    const drainMs = Math.round(performance.now() - drainStart);
    const metrics = await (await pool.request({ method: 'GET', path: '/metrics' })).body.text();
    const metric = (name: string) =>
      Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(metrics)?.[1] ?? NaN);

    // Ground truth from Postgres.
    const acked = samples.filter((s) => s.status >= 200 && s.status < 300).map((s) => s.id);
    const found = new Set<string>();
    for (let i = 0; i < acked.length; i += 10_000) {
      const rows = await db.dataSource.query<Array<{ request_id: string }>>(
        'SELECT DISTINCT request_id FROM request_records WHERE request_id = ANY($1)',
        [acked.slice(i, i + 10_000)],
      );
      for (const r of rows) found.add(r.request_id);
    }
    const missing = acked.filter((id) => !found.has(id));
    const [dup] = await db.dataSource.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM (SELECT request_id FROM request_records WHERE tenant_id = $1
         GROUP BY request_id HAVING count(*) > 1) d`,
      [tenant.tenant_id],
    );
    const [total] = await db.dataSource.query<Array<{ n: number }>>(
      'SELECT count(*)::int AS n FROM request_records WHERE tenant_id = $1',
      [tenant.tenant_id],
    );

    log(
      `\nmarks (ms from start): ${Object.entries(marks)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    log('phase      requests   2xx    503   other   p50 ms   p99 ms   max ms   refusals');
    const phases: Phase[] = ['warmup', 'stopped', 'between', 'frozen', 'recovery'];
    for (const p of phases) {
      const ss = samples.filter((s) => s.phase === p);
      const lat = ss.map((s) => s.ms).sort((a, b) => a - b);
      const ok = ss.filter((s) => s.status >= 200 && s.status < 300).length;
      const s503 = ss.filter((s) => s.status === 503).length;
      const codes = new Map<string, number>();
      for (const s of ss) if (s.code) codes.set(s.code, (codes.get(s.code) ?? 0) + 1);
      log(
        `${p.padEnd(10)} ${String(ss.length).padStart(8)} ${String(ok).padStart(6)} ${String(s503).padStart(6)} ${String(ss.length - ok - s503).padStart(7)} ${pct(lat, 50).toFixed(1).padStart(8)} ${pct(lat, 99).toFixed(1).padStart(8)} ${(lat.at(-1) ?? 0).toFixed(1).padStart(8)}   ${[...codes].map(([k, v]) => `${k}×${v}`).join(' ') || '-'}`,
      );
    }
    const maxMs = Math.max(0, ...samples.map((s) => s.ms));
    log(
      `\nacknowledged ${acked.length}; with a record ${found.size}; missing ${missing.length}` +
        `${missing.length ? ` (e.g. ${missing.slice(0, 3).join(', ')})` : ''}`,
    );
    log(`records in Postgres ${total.n}; request ids with 2+ records ${dup.n}`);
    log(
      `spool: drained in ${drainMs} ms after the load stopped (records now ${spool.records}); ` +
        `spooled ${metric('llm_gateway_audit_spooled_total')}, replayed ${metric('llm_gateway_audit_replayed_total')}, ` +
        `unrecorded ${metric('llm_gateway_audit_unrecorded_total')}, rejected ${metric('llm_gateway_audit_rejected_total')}`,
    );
    log(`max latency ${maxMs.toFixed(0)} ms (limit ${maxLatencyMs})`);

    const misses: string[] = [];
    if (maxMs > maxLatencyMs)
      misses.push(`max latency ${maxMs.toFixed(0)} ms > ${maxLatencyMs} ms`);
    if (missing.length > 0) misses.push(`${missing.length} acknowledged requests without a record`);
    if (spool.records !== 0) misses.push(`spool not drained (${spool.records} records left)`);
    if (dup.n > 0) misses.push(`${dup.n} request ids with duplicate records`);
    if (acked.length === 0) misses.push('no request was acknowledged');
    log(misses.length === 0 ? '\nPASS' : `\nMISS: ${misses.join('; ')}`);
    return misses.length === 0;
  } finally {
    pg.thaw();
    await http.pool?.close().catch(() => undefined);
    await gw?.close().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    await fake.close();
    await redis.stop();
    await pg.destroy();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}
