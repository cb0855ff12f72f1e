/*
 * The failover drill (`npm run drill:failover`; results in docs/providers.md): a steady open-loop
 * load of completions through the real gateway (in-process, over HTTP) while the primary provider
 * is broken in one way after another and then restored. Per mode it prints the client errors during
 * the outage, how long until clients got fallback answers and until the primary was out of
 * rotation, and how long after the restore traffic returned to the primary.
 *
 * Settings (environment): DRILL_MODES (comma list, default all), DRILL_RATE (requests/s, 40),
 * DRILL_WARMUP_MS (3000), DRILL_OUTAGE_MS (10000), DRILL_AFTER_MS (8000), DRILL_CLIENT_TIMEOUT_MS
 * (30000), DRILL_PRIMARY (extra YAML settings for the primary, e.g. "timeout_ms: 10000").
 * The catalog otherwise uses every default: timeout_ms 60000, max_retries 1, health checks every
 * 5000 ms, the default breaker.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { createTenant, startGateway, type TestGateway } from './app';
import { createTestDatabase } from './database';
import { type FakeMode, type FakeModeOptions, startFakeUpstream } from './fake-upstream';

interface Attempt {
  provider: string;
  outcome: string;
  latency_ms: number;
}

interface Sample {
  /** ms since the run's start. */
  start: number;
  end: number;
  ok: boolean;
  status: string;
  provider: string | null;
  attempts: Attempt[];
}

export interface ModeResult {
  mode: FakeMode;
  outageRequests: number;
  outageErrors: number;
  /** Hang: success share of requests started ≥ 5 s after the break. */
  lateSuccess: number | null;
  /** From the break to the first fallback answer a client received. */
  firstFallbackMs: number | null;
  /** From the break until requests stopped calling the primary (circuit open). */
  outOfRotationMs: number | null;
  /** From the restore to the first request answered by the primary. */
  returnMs: number | null;
  p50: number;
  p99: number;
  primaryCalls: number;
  afterErrors: number;
}

const ALL_MODES: ReadonlyArray<[FakeMode, FakeModeOptions]> = [
  ['500', {}],
  ['503', {}],
  ['429', { retryAfterSeconds: 1 }],
  ['refuse', {}],
  ['reset', {}],
  ['hang', {}],
  ['garbage', {}],
  ['missing_fields', {}],
  ['too_large', { tooLargeBytes: 9 * 1024 * 1024 }],
];

function env(name: string, fallback: number): number {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
}

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function catalog(primaryExtra: string): string {
  return `
providers:
  primary:
    type: openai
    base_url: "\${PRIMARY_URL}/v1"
    api_key: "sk-drill-primary-000000000000"
${primaryExtra
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map((s) => `    ${s}`)
  .join('\n')}
  secondary:
    type: anthropic
    base_url: "\${SECONDARY_URL}"
    api_key: "sk-ant-drill-secondary-0000000000"
models:
  drill:
    - {provider: primary, model: gpt-4o-mini}
    - {provider: secondary, model: claude-3-5-haiku-latest}
pricing:
  primary/gpt-4o-mini: {input: 0.15, output: 0.60, max_output_tokens: 16384}
  secondary/claude-3-5-haiku-latest: {input: 0.80, output: 4.00, max_output_tokens: 8192}
`;
}

export async function runFailoverDrill(): Promise<ModeResult[]> {
  const rate = env('DRILL_RATE', 40);
  const warmupMs = env('DRILL_WARMUP_MS', 3000);
  const outageMs = env('DRILL_OUTAGE_MS', 10_000);
  const afterMs = env('DRILL_AFTER_MS', 8000);
  const clientTimeoutMs = env('DRILL_CLIENT_TIMEOUT_MS', 30_000);
  const wanted = (process.env.DRILL_MODES ?? '').split(',').filter(Boolean);
  const modes = ALL_MODES.filter(([m]) => wanted.length === 0 || wanted.includes(m));
  const primaryExtra = process.env.DRILL_PRIMARY ?? '';

  const dir = mkdtempSync(join(tmpdir(), 'llmgw-drill-'));
  const catalogPath = join(dir, 'catalog.yaml');
  writeFileSync(catalogPath, catalog(primaryExtra));
  const primary = await startFakeUpstream({ name: 'primary' });
  const secondary = await startFakeUpstream({ name: 'secondary' });
  const database = await createTestDatabase('drill');

  out(`failover drill: ${rate} req/s, warm-up ${warmupMs} ms, outage ${outageMs} ms, `);
  out(`after ${afterMs} ms, client timeout ${clientTimeoutMs} ms, primary settings: `);
  out(`  ${primaryExtra || '(catalog defaults)'}`);
  const results: ModeResult[] = [];
  try {
    for (const [mode, opts] of modes) {
      await primary.reset();
      await secondary.reset();
      const gw = await startGateway({
        catalog: catalogPath,
        database,
        env: { PRIMARY_URL: primary.url, SECONDARY_URL: secondary.url },
      });
      try {
        const tenant = await createTenant(gw, { rate_limit: 1_000_000, monthly_budget: null });
        // Let the first health checks run, as in a gateway that has been up for a while.
        await sleep(500);
        const r = await drillMode(gw, tenant.api_key, mode, (on) =>
          on ? primary.setMode(mode, opts) : primary.setMode('ok'),
        );
        results.push(r);
        out(describe(r));
      } finally {
        await gw.close();
      }
    }
  } finally {
    await primary.close();
    await secondary.close();
    await database.drop();
  }
  out();
  out(table(results));
  return results;

  async function drillMode(
    gw: TestGateway,
    apiKey: string,
    mode: FakeMode,
    toggle: (on: boolean) => Promise<void>,
  ): Promise<ModeResult> {
    const pool = new Pool(gw.url, { connections: 512 });
    const samples: Sample[] = [];
    const pending: Array<Promise<void>> = [];
    const t0 = Date.now();
    const at = () => Date.now() - t0;
    const breakAt = warmupMs;
    const restoreAt = warmupMs + outageMs;
    const stopAt = restoreAt + afterMs;
    let broken = false;
    let restored = false;
    for (let i = 0; ; i++) {
      const due = (i * 1000) / rate;
      if (due >= stopAt) break;
      await sleep(due - at());
      if (!broken && at() >= breakAt) {
        broken = true;
        await toggle(true);
      }
      if (!restored && at() >= restoreAt) {
        restored = true;
        await toggle(false);
      }
      pending.push(one(pool, apiKey, i, at, samples));
    }
    await Promise.all(pending);
    await pool.close();

    // Samples arrive in completion order; every measure below is by start time.
    samples.sort((a, b) => a.start - b.start);
    const outage = samples.filter((s) => s.start >= breakAt && s.start < restoreAt);
    const late = outage.filter((s) => s.start >= breakAt + 5000);
    const latencies = outage.map((s) => s.end - s.start).sort((a, b) => a - b);
    const firstFallback = outage
      .filter((s) => s.ok && s.provider === 'secondary')
      .reduce((min, s) => Math.min(min, s.end), Number.POSITIVE_INFINITY);
    // Out of rotation: from this request on, no request of the outage called the primary.
    let outOfRotation: number | null = null;
    for (let i = outage.length - 1; i >= 0; i--) {
      if (primaryCalls(outage[i]) > 0) break;
      outOfRotation = outage[i].start;
    }
    const back = samples
      .filter((s) => s.start >= restoreAt && s.provider === 'primary')
      .reduce((min, s) => Math.min(min, s.start), Number.POSITIVE_INFINITY);
    return {
      mode,
      outageRequests: outage.length,
      outageErrors: outage.filter((s) => !s.ok).length,
      lateSuccess:
        mode === 'hang' && late.length > 0 ? late.filter((s) => s.ok).length / late.length : null,
      firstFallbackMs: Number.isFinite(firstFallback) ? firstFallback - breakAt : null,
      outOfRotationMs: outOfRotation === null ? null : outOfRotation - breakAt,
      returnMs: Number.isFinite(back) ? back - restoreAt : null,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      primaryCalls: outage.reduce((n, s) => n + primaryCalls(s), 0),
      afterErrors: samples.filter((s) => s.start >= restoreAt && !s.ok).length,
    };
  }

  async function one(
    pool: Pool,
    apiKey: string,
    i: number,
    at: () => number,
    samples: Sample[],
  ): Promise<void> {
    const start = at();
    let sample: Sample;
    try {
      const res = await pool.request({
        path: '/api/v1/completions',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': apiKey,
          'cache-control': 'no-store',
        },
        body: JSON.stringify({
          model: 'drill',
          messages: [
            { role: 'user', content: `drill request ${i} ${randomBytes(4).toString('hex')}` },
          ],
          max_tokens: 32,
        }),
        signal: AbortSignal.timeout(clientTimeoutMs),
      });
      const body = (await res.body.json()) as {
        response?: { provider?: string };
        attempts?: Attempt[];
        error?: { code?: string; attempts?: Attempt[] };
      };
      sample = {
        start,
        end: at(),
        ok: res.statusCode === 200,
        status: res.statusCode === 200 ? 'ok' : `${res.statusCode} ${body.error?.code ?? ''}`,
        provider: body.response?.provider ?? null,
        attempts: body.attempts ?? body.error?.attempts ?? [],
      };
    } catch (err) {
      sample = {
        start,
        end: at(),
        ok: false,
        status: (err as Error).name === 'TimeoutError' ? 'client_timeout' : 'network',
        provider: null,
        attempts: [],
      };
    }
    samples.push(sample);
  }
}

/**
 * Calls a request made to the primary. A request the client gave up on has no answer to read the
 * attempts from: only a call to the hung primary keeps a request that long, so it counts as one.
 */
function primaryCalls(s: Sample): number {
  if (s.status === 'client_timeout') return 1;
  return s.attempts.filter((a) => a.provider === 'primary' && a.outcome !== 'skipped_circuit_open')
    .length;
}

function ms(v: number | null): string {
  return v === null ? '—' : `${v} ms`;
}

function describe(r: ModeResult): string {
  return (
    `${r.mode.padEnd(15)} outage: ${r.outageErrors}/${r.outageRequests} client errors` +
    (r.lateSuccess === null ? '' : `, ${(r.lateSuccess * 100).toFixed(1)} % success ≥ 5 s in`) +
    `; first fallback answer ${ms(r.firstFallbackMs)}; primary out of rotation ${ms(r.outOfRotationMs)}` +
    `; back on primary ${ms(r.returnMs)} after restore; p50/p99 ${r.p50}/${r.p99} ms; ` +
    `${r.primaryCalls} primary calls; ${r.afterErrors} errors after restore`
  );
}

function table(results: ModeResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.mode} | ${r.outageErrors} / ${r.outageRequests}` +
      `${r.lateSuccess === null ? '' : ` (${(r.lateSuccess * 100).toFixed(1)} % ok ≥ 5 s in)`}` +
      ` | ${ms(r.firstFallbackMs)} | ${ms(r.outOfRotationMs)} | ${ms(r.returnMs)} | ${r.p50} / ${r.p99} ms | ${r.primaryCalls} |`,
  );
  return [
    '| primary mode | client errors in outage | first fallback answer | primary out of rotation | back on primary after restore | latency p50 / p99 in outage | primary calls in outage |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
