import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createTenant, startGateway, type CreatedTenant, type TestGateway } from '../support/app';

/**
 * `GET /metrics` on the real app after real traffic: every docs/api.md §8 family with its type, the
 * documented extensions and process defaults, bounded labels, a well-formed exposition (checked by
 * the parser below) and `promtool check metrics` (Debian's prometheus package, fetched by
 * `scripts/check-deploy.sh --promtool` when it is not on PATH).
 */
jest.setTimeout(240_000);

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

const DOCUMENTED_FAMILIES: Record<string, MetricType> = {
  gen_ai_client_token_usage: 'histogram',
  gen_ai_client_operation_duration_seconds: 'histogram',
  llm_gateway_requests_total: 'counter',
  llm_gateway_request_duration_seconds: 'histogram',
  llm_gateway_overhead_seconds: 'histogram',
  llm_gateway_tokens_total: 'counter',
  llm_gateway_cost_usd_total: 'counter',
  llm_gateway_cache_requests_total: 'counter',
  llm_gateway_rate_limited_total: 'counter',
  llm_gateway_budget_rejected_total: 'counter',
  llm_gateway_fallbacks_total: 'counter',
  llm_gateway_provider_up: 'gauge',
  llm_gateway_audit_pending: 'gauge',
};

const EXTENSION_FAMILIES: Record<string, MetricType> = {
  llm_gateway_redis_up: 'gauge',
  llm_gateway_budget_alerts_total: 'counter',
  llm_gateway_upstream_attempts_total: 'counter',
  llm_gateway_audit_batch_rows: 'histogram',
  llm_gateway_request_stage_seconds: 'histogram',
};

const PROCESS_DEFAULTS = [
  'process_cpu_user_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_heap_size_used_bytes',
];

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  type: MetricType;
  help: string | null;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+))?$`);
const LABEL_RE = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"\s*(,|$)/y;

/** A strict reader of the Prometheus text format 0.0.4; returns the families and every violation. */
function parseExposition(text: string): { families: Map<string, Family>; problems: string[] } {
  const families = new Map<string, Family>();
  const problems: string[] = [];
  const seen = new Set<string>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { type: 'untyped', help: null, samples: [] }));
    return f;
  };
  const familyOf = (sample: string): string => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = sample.slice(0, -suffix.length);
      if (
        sample.endsWith(suffix) &&
        ['histogram', 'summary'].includes(families.get(base)?.type ?? '')
      )
        return base;
    }
    return sample;
  };
  if (!text.endsWith('\n')) problems.push('exposition must end with a newline');
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (!new RegExp(`^${NAME}$`).test(name))
        problems.push(`line ${i + 1}: bad metric name ${name}`);
      const f = family(name);
      if (kind === 'TYPE') {
        if (f.samples.length) problems.push(`line ${i + 1}: TYPE of ${name} after its samples`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          problems.push(`line ${i + 1}: unknown type ${rest}`);
        f.type = rest as MetricType;
      } else {
        f.help = rest;
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE_RE.exec(line);
    if (!m) {
      problems.push(`line ${i + 1}: not a sample: ${line}`);
      continue;
    }
    const [, name, labelText = '', rawValue] = m;
    const labels: Record<string, string> = {};
    LABEL_RE.lastIndex = 0;
    while (LABEL_RE.lastIndex < labelText.length) {
      const start = LABEL_RE.lastIndex;
      const l = LABEL_RE.exec(labelText);
      if (!l || l.index !== start) {
        problems.push(`line ${i + 1}: bad labels {${labelText}}`);
        break;
      }
      if (l[1] in labels) problems.push(`line ${i + 1}: label ${l[1]} repeated`);
      labels[l[1]] = l[2];
    }
    const value = /^[+-]?Inf$/.test(rawValue)
      ? Number(rawValue.replace('Inf', 'Infinity'))
      : Number(rawValue);
    if (Number.isNaN(value) && rawValue !== 'NaN')
      problems.push(`line ${i + 1}: bad value ${rawValue}`);
    const key = `${name}{${Object.entries(labels).sort().join(',')}}`;
    if (seen.has(key)) problems.push(`line ${i + 1}: duplicate sample ${key}`);
    seen.add(key);
    family(familyOf(name)).samples.push({ name, labels, value });
  }
  for (const [name, f] of families) {
    if (f.type === 'counter' && f.samples.some((s) => s.value < 0))
      problems.push(`${name}: negative counter`);
    if (f.type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of f.samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) problems.push(`${name}: bucket without le`);
      const k = JSON.stringify(Object.entries(rest).sort());
      series.set(k, [...(series.get(k) ?? []), s]);
    }
    for (const [k, buckets] of series) {
      if (buckets.at(-1)?.labels.le !== '+Inf')
        problems.push(`${name}${k}: last bucket is not +Inf`);
      for (let j = 1; j < buckets.length; j++) {
        if (
          Number(buckets[j].labels.le.replace('+Inf', 'Infinity')) <=
          Number(buckets[j - 1].labels.le)
        )
          problems.push(`${name}${k}: le not increasing`);
        if (buckets[j].value < buckets[j - 1].value)
          problems.push(`${name}${k}: buckets not cumulative`);
      }
      const labels = Object.fromEntries(JSON.parse(k) as Array<[string, string]>);
      const count = f.samples.find(
        (s) => s.name === `${name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === k,
      );
      if (!count) problems.push(`${name}${JSON.stringify(labels)}: no _count`);
      else if (count.value !== buckets.at(-1)?.value)
        problems.push(`${name}${k}: _count ≠ +Inf bucket`);
    }
  }
  return { families, problems };
}

/** promtool from PROMTOOL, PATH, the deploy-tools cache, or fetched by scripts/check-deploy.sh. */
function findPromtool(): { path: string | null; note: string } {
  const cached = join(
    process.env.DEPLOY_TOOLS_DIR ?? join(homedir(), '.cache/llm-gateway/deploy-tools'),
    'prometheus/usr/bin/promtool',
  );
  const onPath = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
  for (const p of [process.env.PROMTOOL, onPath, cached])
    if (p && existsSync(p)) return { path: p, note: '' };
  const fetched = spawnSync(
    'bash',
    [join(__dirname, '../../scripts/check-deploy.sh'), '--promtool'],
    {
      encoding: 'utf8',
      timeout: 180_000,
    },
  );
  const path = fetched.stdout.trim().split('\n').pop() ?? '';
  if (fetched.status === 0 && existsSync(path)) return { path, note: '' };
  return {
    path: null,
    note: `promtool could not be fetched (${fetched.stderr.trim().split('\n').pop()})`,
  };
}

describe('GET /metrics (e2e)', () => {
  let gw: TestGateway;
  let tenant: CreatedTenant;
  let text: string;
  let contentType: string;
  const unknownModel = `no-such-model-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    gw = await startGateway();
    tenant = await createTenant(gw);
    const ask = (model: string) =>
      gw
        .http()
        .post('/api/v1/completions')
        .set('X-API-Key', tenant.api_key)
        .send({ model, messages: [{ role: 'user', content: `metrics ${tenant.tenant_id}` }] });
    expect((await ask('mock-model')).status).toBe(200); // miss, stored
    const hit = await ask('mock-model');
    expect(hit.status).toBe(200);
    expect(hit.body.cached).toBe(true);
    expect((await ask(unknownModel)).status).toBe(404);
    const res = await gw.http().get('/metrics').expect(200);
    text = res.text;
    contentType = String(res.headers['content-type']);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('is Prometheus text format 0.0.4 and well formed', () => {
    expect(contentType).toMatch(/^text\/plain;.*\bversion=0\.0\.4\b/);
    const { problems } = parseExposition(text);
    expect(problems).toEqual([]);
  });

  it('carries every docs/api.md §8 family with its type, the extensions and the process defaults', () => {
    const { families } = parseExposition(text);
    const typeOf = (name: string) => families.get(name)?.type ?? 'missing';
    for (const [name, type] of Object.entries({ ...DOCUMENTED_FAMILIES, ...EXTENSION_FAMILIES })) {
      expect({ name, type: typeOf(name) }).toEqual({ name, type });
      expect({ name, help: Boolean(families.get(name)?.help) }).toEqual({ name, help: true });
    }
    for (const name of PROCESS_DEFAULTS)
      expect({ name, present: families.has(name) }).toEqual({ name, present: true });
  });

  it('counts the traffic with bounded labels (tenant ids and catalog names only)', () => {
    const { families } = parseExposition(text);
    const value = (family: string, sample: string, labels: Record<string, string>) =>
      (families.get(family)?.samples ?? [])
        .filter(
          (s) => s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
        )
        .reduce((sum, s) => sum + s.value, 0);
    const t = tenant.tenant_id;
    expect(
      value('llm_gateway_requests_total', 'llm_gateway_requests_total', {
        tenant: t,
        model: 'mock-model',
        provider: 'mock',
        outcome: 'success',
      }),
    ).toBe(1);
    expect(
      value('llm_gateway_requests_total', 'llm_gateway_requests_total', {
        tenant: t,
        model: 'mock-model',
        outcome: 'cached',
      }),
    ).toBe(1);
    expect(
      value('llm_gateway_requests_total', 'llm_gateway_requests_total', {
        tenant: t,
        outcome: 'not_found',
      }),
    ).toBe(1);
    expect(
      value('llm_gateway_cache_requests_total', 'llm_gateway_cache_requests_total', {
        result: 'hit',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value('llm_gateway_tokens_total', 'llm_gateway_tokens_total', {
        tenant: t,
        provider: 'mock',
        type: 'input',
      }),
    ).toBeGreaterThan(0);
    expect(
      value('llm_gateway_cost_usd_total', 'llm_gateway_cost_usd_total', {
        tenant: t,
        provider: 'mock',
      }),
    ).toBeGreaterThan(0);
    expect(
      value('llm_gateway_overhead_seconds', 'llm_gateway_overhead_seconds_count', {}),
    ).toBeGreaterThanOrEqual(3);
    expect(
      value('gen_ai_client_token_usage', 'gen_ai_client_token_usage_count', {
        gen_ai_operation_name: 'chat',
        gen_ai_provider_name: 'mock',
        gen_ai_token_type: 'input',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(
        'gen_ai_client_operation_duration_seconds',
        'gen_ai_client_operation_duration_seconds_count',
        { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'mock' },
      ),
    ).toBeGreaterThanOrEqual(1);
    for (const s of families.get('llm_gateway_provider_up')?.samples ?? [])
      expect([0, 1]).toContain(s.value);
    // What a client typed never becomes a label value.
    expect(text).not.toContain(unknownModel);
    // The debug stage family is declared but empty unless METRICS_REQUEST_STAGES=true.
    expect(families.get('llm_gateway_request_stage_seconds')?.samples).toEqual([]);
  });

  it('passes promtool check metrics', () => {
    const { path, note } = findPromtool();
    if (!path) {
      // Loud, not silent: the parser above still checked the format.
      process.stderr.write(
        `\n  NOTE: ${note}; /metrics was checked by the built-in parser only.\n\n`,
      );
      expect(parseExposition(text).problems).toEqual([]);
      return;
    }
    const res = spawnSync(path, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: res.status, output: `${res.stdout}${res.stderr}`.trim() }).toEqual({
      status: 0,
      output: '',
    });
  });
});

describe('GET /metrics with METRICS_REQUEST_STAGES=true (e2e)', () => {
  let gw: TestGateway;
  let families: Map<string, Family>;

  beforeAll(async () => {
    gw = await startGateway({ env: { METRICS_REQUEST_STAGES: 'true' } });
    const tenant = await createTenant(gw);
    const ask = () =>
      gw
        .http()
        .post('/api/v1/completions')
        .set('X-API-Key', tenant.api_key)
        .send({ model: 'mock-model', messages: [{ role: 'user', content: 'stages' }] });
    expect((await ask()).status).toBe(200); // miss: calls the provider
    expect((await ask()).body.cached).toBe(true); // hit: no provider stage
    expect((await gw.http().post('/api/v1/completions').send({})).status).toBe(401);
    const res = await gw.http().get('/metrics').expect(200);
    const parsed = parseExposition(res.text);
    expect(parsed.problems).toEqual([]);
    families = parsed.families;
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('breaks each request into the stages it reached, in seconds that add up to its time in the gateway', () => {
    const samples = families.get('llm_gateway_request_stage_seconds')?.samples ?? [];
    const of = (name: string, stage: string) =>
      samples.find((s) => s.name === name && s.labels.stage === stage)?.value ?? 0;
    const counts = Object.fromEntries(
      ['body', 'auth', 'admission', 'provider', 'record', 'respond'].map((stage) => [
        stage,
        of('llm_gateway_request_stage_seconds_count', stage),
      ]),
    );
    // Tenant requests only (the refused one without a key, the admin call and the scrape are not
    // metered traffic); the hit reached no provider.
    expect(counts).toEqual({ body: 2, auth: 2, admission: 2, provider: 1, record: 2, respond: 2 });
    for (const stage of Object.keys(counts)) {
      expect(of('llm_gateway_request_stage_seconds_sum', stage)).toBeGreaterThan(0);
    }
    const inGateway = Object.keys(counts).reduce(
      (sum, stage) => sum + of('llm_gateway_request_stage_seconds_sum', stage),
      0,
    );
    // Three short requests on loopback: well under a second in all, and more than nothing.
    expect(inGateway).toBeGreaterThan(0);
    expect(inGateway).toBeLessThan(5);
  });
});
