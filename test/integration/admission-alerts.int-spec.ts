import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { unitsToDecimalString, unitsToUsd } from '@gateway/billing';
import type { TenantContext } from '@gateway/context';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { type RedisServer, startRedisServer } from '../support/redis-server';
import {
  type AdmissionInstance,
  sleep,
  startAdmission,
  tenantContext,
  tryAdmit,
  uniquePrefix,
  until,
} from '../support/admission';

jest.setTimeout(60_000);

const W = 1_000_000;
const demand = (worst = W) => ({
  promptTokensUpperBound: 10,
  maxCompletionTokens: 10,
  worstCaseCostUnits: worst,
});
const used = { promptTokens: 5, completionTokens: 5 };

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: { tenant_id: string; threshold: number; spend: number; budget: number; month: string };
  at: number;
}

/** A local webhook receiver; `/flaky/*` answers 500 to the first attempt of each path. */
async function startReceiver(): Promise<{
  url: string;
  received: Received[];
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  const seen = new Set<string>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      if (path.startsWith('/flaky/') && !seen.has(path)) {
        seen.add(path);
        received.push({ path, headers: req.headers, raw, body: JSON.parse(raw), at: Date.now() });
        res.writeHead(500).end();
        return;
      }
      received.push({ path, headers: req.headers, raw, body: JSON.parse(raw), at: Date.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function alertCount(
  inst: AdmissionInstance,
  tenantId: string,
  result: string,
): Promise<number> {
  const metric = await inst.metrics.alertsSent.get();
  return metric.values
    .filter((v) => v.labels.tenant === tenantId && v.labels.result === result)
    .reduce((sum, v) => sum + v.value, 0);
}

function signatureOk(r: Received, secret: string): boolean {
  const expected = `sha256=${createHmac('sha256', secret).update(r.raw).digest('hex')}`;
  return r.headers['x-gateway-signature'] === expected;
}

describe('admission: budget alerts', () => {
  let db: TestDatabase;
  let fleet: AdmissionInstance[];
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let prefix: string;

  beforeAll(async () => {
    db = await createTestDatabase('adm_alerts');
    receiver = await startReceiver();
    prefix = uniquePrefix('alerts');
    fleet = await Promise.all([0, 1, 2].map(() => startAdmission({ database: db, prefix })));
  });

  afterAll(async () => {
    await Promise.all((fleet ?? []).map((i) => i.close()));
    await receiver?.close();
    await db?.drop();
  });

  const tenantWithHook = (path: string, overrides: Partial<TenantContext> = {}) =>
    tenantContext({
      monthlyBudget: unitsToDecimalString(10 * W),
      alertThresholds: [0.5, 0.8, 1],
      alertWebhookUrl: `${receiver.url}${path}`,
      alertWebhookSecret: 'whsec-test-secret',
      ...overrides,
    });

  it('sends each threshold exactly once across 3 instances, signed with the tenant secret', async () => {
    const tenant = tenantWithHook('/hook/a', { monthlyBudget: unitsToDecimalString(10 * W) });
    // Two waves, so spend crosses 50 %, 80 % and reaches 100 % while instances race.
    for (let wave = 0; wave < 2; wave++) {
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => tryAdmit(fleet[i % 3].admission, tenant, demand())),
      );
      await Promise.all(
        results.map((r, i) =>
          r.ok
            ? fleet[i % 3].admission.settle(tenant, r.ticket, { ...used, costUnits: W })
            : Promise.resolve(),
        ),
      );
    }
    // Over budget now: these refusals must not send 100 % again.
    for (let i = 0; i < 6; i++)
      expect((await tryAdmit(fleet[i % 3].admission, tenant, demand())).ok).toBe(false);
    await until(
      () => receiver.received.filter((r) => r.path === '/hook/a').length >= 3,
      5_000,
      '3 alerts',
    );
    await sleep(1_000);
    const mine = receiver.received.filter((r) => r.path === '/hook/a');
    expect(mine.map((r) => r.body.threshold).sort()).toEqual([0.5, 0.8, 1]);
    const month = new Date().toISOString().slice(0, 7);
    for (const r of mine) {
      expect(signatureOk(r, 'whsec-test-secret')).toBe(true);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body.tenant_id).toBe(tenant.tenantId);
      expect(r.body.budget).toBe(unitsToUsd(10 * W));
      expect(r.body.month).toBe(month);
      expect(r.body.spend).toBeGreaterThanOrEqual(r.body.threshold * r.body.budget);
    }
    expect(mine.find((r) => r.body.threshold === 1)?.body.spend).toBe(unitsToUsd(10 * W));
  });

  it('sends the 100 % alert on the first refusal for budget, once', async () => {
    const tenant = tenantWithHook('/hook/refused', { monthlyBudget: unitsToDecimalString(W) });
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) => tryAdmit(fleet[i % 3].admission, tenant, demand(2 * W))),
    );
    expect(results.every((r) => !r.ok)).toBe(true);
    await until(
      () => receiver.received.some((r) => r.path === '/hook/refused'),
      5_000,
      'the alert',
    );
    await sleep(800);
    const mine = receiver.received.filter((r) => r.path === '/hook/refused');
    expect(mine).toHaveLength(1);
    expect(mine[0].body).toEqual(
      expect.objectContaining({ threshold: 1, spend: 0, budget: unitsToUsd(W) }),
    );
  });

  it('retries a failed delivery with backoff, never blocking the request', async () => {
    const tenant = tenantWithHook('/flaky/one', { alertThresholds: [0.5] });
    const t = await tryAdmit(fleet[0].admission, tenant, demand(6 * W));
    expect(t.ok).toBe(true);
    if (!t.ok) return;
    const start = performance.now();
    await fleet[0].admission.settle(tenant, t.ticket, { ...used, costUnits: 6 * W });
    expect(performance.now() - start).toBeLessThan(100);
    await until(
      () => receiver.received.filter((r) => r.path === '/flaky/one').length === 2,
      5_000,
      'the retry',
    );
    const [first, second] = receiver.received.filter((r) => r.path === '/flaky/one');
    expect(second.at - first.at).toBeGreaterThanOrEqual(700);
    expect(second.raw).toBe(first.raw);
    // The receiver records a delivery before its 204 reaches the sender, which counts only
    // after reading the answer: wait for the count rather than race it.
    await until(
      async () => (await alertCount(fleet[0], tenant.tenantId, 'sent')) === 1,
      3_000,
      'the delivery counted as sent',
    );
    expect(await alertCount(fleet[0], tenant.tenantId, 'failed')).toBe(0);
  });

  it('refuses loopback targets unless ALERT_WEBHOOK_ALLOW_PRIVATE is set', async () => {
    const strict = await startAdmission({
      database: db,
      prefix,
      env: { ALERT_WEBHOOK_ALLOW_PRIVATE: 'false' },
    });
    try {
      const tenant = tenantWithHook('/hook/private', { alertThresholds: [0.5] });
      const t = await tryAdmit(strict.admission, tenant, demand(6 * W));
      expect(t.ok).toBe(true);
      if (!t.ok) return;
      await strict.admission.settle(tenant, t.ticket, { ...used, costUnits: 6 * W });
      await until(
        async () => (await alertCount(strict, tenant.tenantId, 'refused')) === 1,
        3_000,
        'refusal',
      );
      await sleep(300);
      expect(receiver.received.some((r) => r.path === '/hook/private')).toBe(false);
    } finally {
      await strict.close();
    }
  });
});

describe('admission: alerts for spend settled while Redis was away', () => {
  let db: TestDatabase;
  let server: RedisServer;
  let inst: AdmissionInstance;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    db = await createTestDatabase('adm_alerts_outage');
    server = await startRedisServer();
    receiver = await startReceiver();
    inst = await startAdmission({
      database: db,
      prefix: uniquePrefix('alerts-out'),
      redisUrl: server.url,
    });
  });

  afterAll(async () => {
    await inst?.close();
    await server?.stop();
    await receiver?.close();
    await db?.drop();
  });

  it('fires when the replayed settlement reaches Redis', async () => {
    const tenant = tenantContext({
      monthlyBudget: unitsToDecimalString(10 * W),
      alertThresholds: [0.5],
      alertWebhookUrl: `${receiver.url}/hook/replayed`,
      alertWebhookSecret: 'k',
    });
    const warm = await tryAdmit(inst.admission, tenant, demand());
    expect(warm.ok).toBe(true);
    if (warm.ok) await inst.admission.settle(tenant, warm.ticket, { ...used, costUnits: W });
    server.freeze();
    try {
      const t = await tryAdmit(inst.admission, tenant, demand(5 * W));
      expect(t.ok && t.ticket.mode).toBe('fallback');
      if (t.ok) await inst.admission.settle(tenant, t.ticket, { ...used, costUnits: 5 * W });
      await sleep(300);
      expect(receiver.received).toHaveLength(0);
    } finally {
      server.thaw();
    }
    await until(() => receiver.received.length === 1, 6_000, 'the alert after Redis returned');
    expect(receiver.received[0].body).toEqual(
      expect.objectContaining({ threshold: 0.5, spend: unitsToUsd(6 * W) }),
    );
    expect(signatureOk(receiver.received[0], 'k')).toBe(true);
  });
});
