import { randomBytes, randomUUID } from 'node:crypto';
import {
  AuditService,
  type AuditRecord,
  type AuditRow,
  PostgresRecordSink,
  RequestRecordEntity,
} from '@gateway/audit';
import { TenantEntity } from '@gateway/tenancy';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { parseAuditQuery } from '../../libs/audit/src/report-query.parser';

/*
 * The usage, chargeback and audit reports over a real Postgres with the real migrations. Fixtures
 * go in through the real sink; every expectation is computed independently with BigInt.
 */

const DAY = 86_400_000;
const NOW = new Date();

function rec(o: Partial<AuditRecord> & Pick<AuditRecord, 'tenantId'>): AuditRecord {
  return {
    requestId: `req-${randomBytes(6).toString('hex')}`,
    apiKeyId: KEY,
    createdAt: new Date(NOW.getTime() - 60_000),
    endpoint: '/api/v1/completions',
    model: 'gpt-4o-mini',
    provider: 'openai',
    providerModel: 'gpt-4o-mini-2024-07-18',
    statusCode: 200,
    outcome: 'success',
    promptTokens: 10,
    completionTokens: 5,
    costUnits: 1,
    costSavedUnits: 0,
    latencyMs: 100,
    upstreamLatencyMs: 90,
    cached: false,
    attempts: [],
    errorCode: null,
    ...o,
  };
}

const KEY = randomUUID();

describe('audit reports (Postgres)', () => {
  let db: TestDatabase;
  let sink: PostgresRecordSink;
  let audit: AuditService;

  beforeAll(async () => {
    db = await createTestDatabase('audit_reports');
    sink = new PostgresRecordSink(db.dataSource);
    audit = new AuditService(
      db.dataSource.getRepository(RequestRecordEntity),
      db.dataSource.getRepository(TenantEntity),
    );
  });
  afterAll(async () => {
    await db.drop();
  });

  describe('tenant usage', () => {
    const A = randomUUID();
    const B = randomUUID();

    beforeAll(async () => {
      await sink.write([
        // openai answered three times: 0.1 + 0.2 + 1e-10 USD must add up exactly.
        rec({ tenantId: A, costUnits: 1_000_000_000, latencyMs: 100 }),
        rec({ tenantId: A, costUnits: 2_000_000_000, latencyMs: 200 }),
        rec({ tenantId: A, costUnits: 1, latencyMs: 300, promptTokens: 7, completionTokens: 0 }),
        rec({
          tenantId: A,
          provider: 'anthropic',
          model: 'claude-sonnet',
          costUnits: 450,
          promptTokens: 100,
          completionTokens: 200,
        }),
        // Two cache hits of an openai answer: a `cache` row, cost 0.
        rec({
          tenantId: A,
          outcome: 'cached',
          cached: true,
          costUnits: 0,
          costSavedUnits: 1_000_000_000,
          latencyMs: 3,
        }),
        rec({
          tenantId: A,
          outcome: 'cached',
          cached: true,
          costUnits: 0,
          costSavedUnits: 5,
          latencyMs: 4,
        }),
        // Refused or failed requests and non-completion calls are audit-only.
        rec({
          tenantId: A,
          outcome: 'rate_limited',
          statusCode: 429,
          provider: null,
          costUnits: 0,
        }),
        rec({
          tenantId: A,
          outcome: 'upstream_error',
          statusCode: 502,
          costUnits: 0,
          errorCode: 'all_providers_failed',
        }),
        rec({ tenantId: A, endpoint: '/v1/models', model: null, provider: null, costUnits: 0 }),
        // Just outside / inside the 30-day window.
        rec({ tenantId: A, createdAt: new Date(NOW.getTime() - 30 * DAY - 60_000), costUnits: 7 }),
        rec({ tenantId: A, createdAt: new Date(NOW.getTime() - 30 * DAY + 60_000), costUnits: 11 }),
        // Another tenant.
        rec({ tenantId: B, costUnits: 999_999 }),
      ]);
    });

    it('has one row per answering provider plus `cache`, with exact costs', async () => {
      const report = await audit.tenantUsage({ id: A, name: 'alpha' }, 30);
      expect(report).toEqual({
        tenant_id: A,
        tenant_name: 'alpha',
        period_days: 30,
        usage_by_provider: [
          { provider: 'anthropic', requests: 1, tokens: 300, cost: 4.5e-8, avg_latency_ms: 100 },
          { provider: 'cache', requests: 2, tokens: 30, cost: 0, avg_latency_ms: 3.5 },
          {
            provider: 'openai',
            requests: 4,
            tokens: 15 + 15 + 7 + 15,
            cost: 0.3000000012,
            avg_latency_ms: (100 + 200 + 300 + 100) / 4,
          },
        ],
      });
    });

    it('uses a rolling window of days × 24 h ending now', async () => {
      const wider = await audit.tenantUsage({ id: A, name: 'alpha' }, 31);
      const openai = wider.usage_by_provider.find((r) => r.provider === 'openai');
      expect(openai?.requests).toBe(5);
      expect(openai?.cost).toBe(0.3000000019);
      const one = await audit.tenantUsage({ id: A, name: 'alpha' }, 1);
      expect(one.usage_by_provider.find((r) => r.provider === 'openai')?.requests).toBe(3);
    });

    it("never shows another tenant's requests", async () => {
      const b = await audit.tenantUsage({ id: B, name: 'beta' }, 30);
      expect(b.usage_by_provider).toEqual([
        { provider: 'openai', requests: 1, tokens: 15, cost: 0.0000999999, avg_latency_ms: 100 },
      ]);
      expect(
        (await audit.tenantUsage({ id: randomUUID(), name: 'nobody' }, 30)).usage_by_provider,
      ).toEqual([]);
    });
  });

  describe('chargeback', () => {
    // A closed period in the past so other suites' rows (created "now") stay out.
    const from = new Date('2024-01-30T00:00:00Z');
    const to = new Date('2024-03-01T00:00:00Z');
    const T1 = randomUUID();
    const T2 = randomUUID();
    /** A name a CSV must quote, and that a spreadsheet would run as a formula. */
    const T1_NAME = '=Acme, "R&D"';
    const fixtures: AuditRecord[] = [];

    beforeAll(async () => {
      // T1 is a tenant; T2 has records but no tenant row (its name reads as null).
      await db.dataSource
        .getRepository(TenantEntity)
        .insert({ id: T1, name: T1_NAME, rateLimit: 10 });
      const at = (iso: string) => new Date(iso);
      // 1000 requests of 3e-10 USD each: a float accumulation would not land on 3e-7.
      for (let i = 0; i < 1000; i++) {
        fixtures.push(
          rec({
            tenantId: T1,
            costUnits: 3,
            promptTokens: 1,
            completionTokens: 2,
            createdAt: at(`2024-01-31T23:59:${String(i % 60).padStart(2, '0')}Z`),
          }),
        );
      }
      fixtures.push(
        rec({
          tenantId: T1,
          provider: 'anthropic',
          model: 'claude',
          costUnits: 1_000_000_000,
          createdAt: at('2024-02-01T00:00:00Z'),
        }),
        rec({
          tenantId: T1,
          provider: 'anthropic',
          model: 'claude',
          costUnits: 2_000_000_000,
          createdAt: at('2024-02-15T12:00:00Z'),
        }),
        rec({
          tenantId: T2,
          outcome: 'cached',
          cached: true,
          costUnits: 0,
          costSavedUnits: 123,
          createdAt: at('2024-02-10T08:00:00Z'),
        }),
        rec({
          tenantId: T2,
          model: 'we"ird,\nmodel',
          costUnits: 10,
          createdAt: at('2024-02-10T09:00:00Z'),
        }),
        rec({
          tenantId: T2,
          model: '=HYPERLINK("x")',
          costUnits: 20,
          createdAt: at('2024-02-10T10:00:00Z'),
        }),
        // Not usage: refused, and outside [from, to).
        rec({
          tenantId: T2,
          outcome: 'upstream_error',
          statusCode: 502,
          costUnits: 0,
          errorCode: 'all_providers_failed',
          createdAt: at('2024-02-12T00:00:00Z'),
        }),
        rec({
          tenantId: T2,
          outcome: 'budget_exceeded',
          statusCode: 402,
          provider: null,
          costUnits: 0,
          createdAt: at('2024-02-11T00:00:00Z'),
        }),
        rec({ tenantId: T2, costUnits: 77, createdAt: at('2024-01-29T23:59:59.999Z') }),
        rec({ tenantId: T2, costUnits: 77, createdAt: to }),
      );
      await sink.write(fixtures);
    });

    const answered = () =>
      fixtures.filter(
        (r) =>
          r.createdAt >= from &&
          r.createdAt < to &&
          r.provider !== null &&
          (r.outcome === 'success' || r.outcome === 'cached'),
      );

    function expected(key: (r: AuditRecord) => string) {
      const groups = new Map<
        string,
        { requests: number; units: bigint; saved: bigint; hits: number; p: number; c: number }
      >();
      for (const r of answered()) {
        const g = groups.get(key(r)) ?? { requests: 0, units: 0n, saved: 0n, hits: 0, p: 0, c: 0 };
        g.requests++;
        g.units += BigInt(r.costUnits);
        g.saved += BigInt(r.costSavedUnits);
        g.hits += r.cached ? 1 : 0;
        g.p += r.promptTokens;
        g.c += r.completionTokens;
        groups.set(key(r), g);
      }
      return groups;
    }

    it('groups by tenant with exact totals', async () => {
      const report = await audit.chargeback({ from, to, groupBy: ['tenant'] });
      expect(report.group_by).toEqual(['tenant']);
      expect(report.from).toBe(from.toISOString());
      const byTenant = new Map(report.data.map((r) => [r.tenant, r]));
      expect([...byTenant.keys()].sort()).toEqual([T1, T2].sort());
      const t1 = byTenant.get(T1)!;
      expect(t1.tenant_id).toBe(T1);
      expect(t1.tenant_name).toBe(T1_NAME);
      expect(byTenant.get(T2)!.tenant_name).toBeNull();
      expect(t1).toMatchObject({
        requests: 1002,
        prompt_tokens: 1000 + 20,
        completion_tokens: 2000 + 10,
        cost: 0.3000003,
        cache_hits: 0,
        cost_saved: 0,
      });
      expect(byTenant.get(T2)).toMatchObject({
        requests: 3,
        cost: 3e-9,
        cache_hits: 1,
        cost_saved: 1.23e-8,
      });
      expect(report.totals).toEqual({
        requests: 1005,
        prompt_tokens: 1050,
        completion_tokens: 2025,
        cost: 0.300000303,
        cache_hits: 1,
        cost_saved: 1.23e-8,
      });
    });

    it.each([
      [['provider'], (r: AuditRecord) => r.provider!],
      [['model'], (r: AuditRecord) => r.model!],
      [['day'], (r: AuditRecord) => r.createdAt.toISOString().slice(0, 10)],
      [['month'], (r: AuditRecord) => r.createdAt.toISOString().slice(0, 7)],
      [
        ['tenant', 'provider', 'day'],
        (r: AuditRecord) => `${r.tenantId}|${r.provider}|${r.createdAt.toISOString().slice(0, 10)}`,
      ],
      [
        ['month', 'model'],
        (r: AuditRecord) => `${r.createdAt.toISOString().slice(0, 7)}|${r.model}`,
      ],
    ] as const)('groups by %j, each row equal to the sum of its requests', async (groupBy, key) => {
      const report = await audit.chargeback({ from, to, groupBy });
      const want = expected(key);
      expect(report.data).toHaveLength(want.size);
      for (const row of report.data) {
        const k = groupBy.map((g) => (row as unknown as Record<string, string>)[g]).join('|');
        const g = want.get(k);
        expect(g).toBeDefined();
        expect(row.requests).toBe(g!.requests);
        expect(row.cost).toBe(Number(`${g!.units}e-10`));
        expect(row.cost_saved).toBe(Number(`${g!.saved}e-10`));
        expect(row.cache_hits).toBe(g!.hits);
        expect(row.prompt_tokens).toBe(g!.p);
        expect(row.completion_tokens).toBe(g!.c);
        expect(Object.keys(row).sort()).toEqual(
          [
            ...groupBy.flatMap((f) =>
              f === 'tenant' ? ['tenant', 'tenant_id', 'tenant_name'] : [f],
            ),
            'requests',
            'prompt_tokens',
            'completion_tokens',
            'cost',
            'cache_hits',
            'cost_saved',
          ].sort(),
        );
      }
      // Day and month are UTC: 23:59 on Jan 31 stays in January.
      if (groupBy[0] === 'month') {
        expect(report.data.map((r) => r.month)).toContain('2024-01');
      }
    });

    it('renders CSV with a header row, RFC 4180 escaping and exact decimal costs', async () => {
      const csv = await audit.chargebackCsv({ from, to, groupBy: ['tenant', 'model'] });
      expect(csv.endsWith('\r\n')).toBe(true);
      const lines = csv.split('\r\n');
      expect(lines[0]).toBe(
        'tenant,tenant_id,tenant_name,model,requests,prompt_tokens,completion_tokens,cost,cache_hits,cost_saved',
      );
      const t1 = `${T1},${T1},"'=Acme, ""R&D"""`;
      expect(csv).toContain(`${t1},gpt-4o-mini,1000,1000,2000,0.0000003,0,0\r\n`);
      expect(csv).toContain(`${t1},claude,2,20,10,0.3,0,0\r\n`);
      expect(csv).toContain(`${T2},${T2},,"we""ird,\nmodel",1,10,5,0.000000001,0,0\r\n`);
      expect(csv).toContain(`${T2},${T2},,"'=HYPERLINK(""x"")",1,10,5,0.000000002,0,0\r\n`);
      expect(csv).toContain(`${T2},${T2},,gpt-4o-mini,1,10,5,0,1,0.0000000123\r\n`);
    });
  });

  describe('audit list', () => {
    const A = randomUUID();
    const B = randomUUID();
    const base = new Date('2023-06-01T12:00:00.000Z').getTime();
    const all: AuditRecord[] = [];

    beforeAll(async () => {
      for (let i = 0; i < 130; i++) {
        // Ten records share each timestamp: the id breaks the tie.
        all.push(
          rec({
            tenantId: i % 3 === 0 ? B : A,
            createdAt: new Date(base + Math.floor(i / 10) * 1000),
            outcome: i % 7 === 0 ? 'upstream_error' : 'success',
            provider: i % 2 === 0 ? 'openai' : 'anthropic',
            model: i % 5 === 0 ? 'claude' : 'gpt-4o-mini',
            attempts: [{ provider: 'openai', outcome: 'timeout', latency_ms: i }],
          }),
        );
      }
      // Written in several batches, out of time order, as concurrent instances would.
      await sink.write(all.slice(60));
      await sink.write(all.slice(0, 60));
    });

    async function everything(q: Record<string, string>): Promise<AuditRow[]> {
      const rows: AuditRow[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await audit.listRecords(
          parseAuditQuery({ ...q, ...(cursor ? { cursor } : {}) }),
        );
        rows.push(...page.data);
        cursor = page.next_cursor;
        pages++;
      } while (cursor && pages < 100);
      return rows;
    }

    it('returns rows with exactly the contract fields, newest first', async () => {
      const page = await audit.listRecords(parseAuditQuery({ tenant_id: A, limit: '3' }));
      expect(page.data).toHaveLength(3);
      expect(Object.keys(page.data[0]).sort()).toEqual(
        [
          'request_id',
          'tenant_id',
          'api_key_id',
          'created_at',
          'endpoint',
          'model',
          'provider',
          'provider_model',
          'status_code',
          'outcome',
          'prompt_tokens',
          'completion_tokens',
          'cost',
          'cost_saved',
          'latency_ms',
          'upstream_latency_ms',
          'cached',
          'attempts',
          'error_code',
        ].sort(),
      );
      const newest = all.filter((r) => r.tenantId === A).at(-1)!;
      expect(page.data[0]).toEqual({
        request_id: newest.requestId,
        tenant_id: A,
        api_key_id: KEY,
        created_at: newest.createdAt.toISOString(),
        endpoint: '/api/v1/completions',
        model: newest.model,
        provider: newest.provider,
        provider_model: 'gpt-4o-mini-2024-07-18',
        status_code: 200,
        outcome: newest.outcome,
        prompt_tokens: 10,
        completion_tokens: 5,
        cost: 1e-10,
        cost_saved: 0,
        latency_ms: 100,
        upstream_latency_ms: 90,
        cached: false,
        attempts: newest.attempts,
        error_code: null,
      });
      expect(typeof page.next_cursor).toBe('string');
    });

    it('pages through everything once, in (created_at, id) order, with a stable cursor', async () => {
      const rows = await everything({ tenant_id: A, limit: '7' });
      const want = all.filter((r) => r.tenantId === A);
      expect(rows).toHaveLength(want.length);
      expect(new Set(rows.map((r) => r.request_id)).size).toBe(want.length);
      const times = rows.map((r) => Date.parse(r.created_at));
      expect(times).toEqual([...times].sort((x, y) => y - x));

      // New requests arriving between pages do not shift or repeat the older pages.
      const first = await audit.listRecords(parseAuditQuery({ tenant_id: A, limit: '50' }));
      await sink.write([rec({ tenantId: A, createdAt: new Date(base + 999_000) })]);
      const second = await audit.listRecords(
        parseAuditQuery({ tenant_id: A, limit: '50', cursor: first.next_cursor! }),
      );
      expect(second.data[0].request_id).toBe(rows[50].request_id);
    });

    it('filters by tenant, time range, status, provider and model', async () => {
      const inRange = (r: AuditRecord) =>
        r.createdAt.getTime() >= base + 3000 && r.createdAt.getTime() < base + 9000;
      const rows = await everything({
        tenant_id: B,
        from: new Date(base + 3000).toISOString(),
        to: new Date(base + 9000).toISOString(),
        status: 'success',
        provider: 'openai',
        model: 'gpt-4o-mini',
        limit: '2',
      });
      const want = all.filter(
        (r) =>
          r.tenantId === B &&
          inRange(r) &&
          r.outcome === 'success' &&
          r.provider === 'openai' &&
          r.model === 'gpt-4o-mini',
      );
      expect(want.length).toBeGreaterThan(2);
      expect(rows.map((r) => r.request_id).sort()).toEqual(want.map((r) => r.requestId).sort());

      const failures = await everything({
        status: 'upstream_error',
        to: new Date(base + 1e6).toISOString(),
        limit: '500',
      });
      expect(failures.map((r) => r.request_id).sort()).toEqual(
        all
          .filter((r) => r.outcome === 'upstream_error')
          .map((r) => r.requestId)
          .sort(),
      );
    });
  });
});
