/*
 * Retries, circuit breaker, health checks and recovery (docs/providers.md): measured against real
 * sockets and a real Redis. Each block boots its own ProvidersModule and fake upstreams, so
 * breaker and budget state never leaks between blocks.
 */
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream';
import {
  call,
  circuitOf,
  type ProvidersInstance,
  startProviders,
  twoProviderCatalog,
  uniquePrefix,
  waitFor,
} from '../support/providers';
import { sleep } from '../support/wait';

jest.setTimeout(60_000);

const NO_BREAKER = { failure_threshold: 100000, failure_ratio: 1, min_requests: 100000 };

function report(line: string): void {
  process.stdout.write(`providers-resilience: ${line}\n`);
}

interface Pair {
  primary: FakeUpstream;
  secondary: FakeUpstream;
  env: Record<string, string>;
  close(): Promise<void>;
}

async function fakes(): Promise<Pair> {
  const primary = await startFakeUpstream({ name: 'primary' });
  const secondary = await startFakeUpstream({ name: 'secondary' });
  return {
    primary,
    secondary,
    env: { PRIMARY_URL: primary.url, SECONDARY_URL: secondary.url },
    close: async () => {
      await primary.close();
      await secondary.close();
    },
  };
}

describe('retries on the same provider', () => {
  let f: Pair;
  let p: ProvidersInstance;
  beforeAll(async () => {
    f = await fakes();
    p = await startProviders(
      twoProviderCatalog({
        primary: {
          timeout_ms: 2000,
          max_retries: 2,
          health_check: false,
          circuit_breaker: NO_BREAKER,
        },
        secondary: { health_check: false },
      }),
      f.env,
    );
  });
  afterEach(async () => {
    await f.primary.reset();
    await f.secondary.reset();
  });
  afterAll(async () => {
    await p.close();
    await f.close();
  });

  it('retries a 503 up to max_retries with backoff, then falls back', async () => {
    await f.primary.setMode('503');
    const r = await call(p);
    expect(r.provider).toBe('secondary');
    expect(r.draft.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual([
      'primary:error',
      'primary:error',
      'primary:error',
      'secondary:success',
    ]);
    // Backoff 25–50 ms then 50–100 ms.
    expect(r.ms).toBeGreaterThanOrEqual(75);
  });

  it("honours the provider's Retry-After when it fits the deadline", async () => {
    await f.primary.setMode('429', { retryAfterSeconds: 0.3 });
    const r = await call(p);
    const outcomes = r.draft.attempts.map((a) => a.outcome);
    // The retry budget of this window may cut the series short, but the first retry waited 300 ms.
    expect(outcomes.slice(0, 2)).toEqual(['rate_limited', 'rate_limited']);
    expect(outcomes.at(-1)).toBe('success');
    expect(r.ms).toBeGreaterThanOrEqual(300);
  });

  it('does not retry what cannot get better (an invalid body): next route at once', async () => {
    await f.primary.setMode('garbage');
    const r = await call(p);
    expect(r.draft.attempts.map((a) => a.provider)).toEqual(['primary', 'secondary']);
  });
});

describe('retry budget during a total primary outage', () => {
  let f: Pair;
  let p: ProvidersInstance;
  beforeAll(async () => {
    f = await fakes();
    // Breaker off and 3 retries allowed per request: only the budget stands between an outage
    // and 4× the load on the primary.
    p = await startProviders(
      twoProviderCatalog({
        primary: {
          timeout_ms: 2000,
          max_retries: 3,
          health_check: false,
          circuit_breaker: NO_BREAKER,
        },
        secondary: { health_check: false },
      }),
      f.env,
    );
  });
  afterAll(async () => {
    await p.close();
    await f.close();
  });

  it('upstream attempts on the primary ≤ 1.2 × client requests + 3', async () => {
    await f.primary.setMode('500');
    const requests = 80;
    const concurrency = 8;
    let next = 0;
    let ok = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests) {
          next++;
          const r = await call(p);
          if (r.provider === 'secondary') ok++;
        }
      }),
    );
    const attempts = f.primary.stats().chat;
    report(`retry budget: ${requests} requests → ${attempts} primary attempts`);
    expect(ok).toBe(requests);
    expect(attempts).toBeLessThanOrEqual(1.2 * requests + 3);
    // The budget allowed some retries (it is a budget, not a ban)…
    expect(attempts).toBeGreaterThan(requests);
    // …and every request still tried the primary first.
    expect(f.secondary.stats().chatOk).toBe(requests);
  });
});

describe('circuit breaker and recovery (default breaker and health-check settings)', () => {
  let f: Pair;
  let p: ProvidersInstance;
  beforeAll(async () => {
    f = await fakes();
    p = await startProviders(
      twoProviderCatalog({ primary: { timeout_ms: 1000 }, secondary: { timeout_ms: 1000 } }),
      f.env,
    );
    await waitFor(() => p.service.statuses().every((s) => s.status === 'up'), 3000);
  });
  afterAll(async () => {
    await p.close();
    await f.close();
  });

  it('opens after failures: the primary then gets no requests, only health probes', async () => {
    await f.primary.setMode('500');
    while (circuitOf(p, 'primary') !== 'open') {
      const r = await call(p);
      expect(r.provider).toBe('secondary');
    }
    // Once the health checks also see it down, the circuit stays open without real probes.
    await waitFor(
      () =>
        p.service
          .statuses()
          .find((s) => s.provider === 'primary')
          ?.last_error?.startsWith('health check: server') === true,
      6000,
    );
    const before = f.primary.stats();
    let skipped = 0;
    for (let i = 0; i < 30; i++) {
      const r = await call(p);
      expect(r.provider).toBe('secondary');
      if (r.draft.attempts[0].outcome === 'skipped_circuit_open') skipped++;
      await sleep(100);
    }
    const after = f.primary.stats();
    expect(after.chat - before.chat).toBe(0);
    expect(skipped).toBe(30);
    expect(after.models - before.models).toBeGreaterThanOrEqual(2);
    expect(p.service.isDegraded()).toBe(true); // `primary-only` has no available route
  });

  it('after the primary recovers, traffic returns to it within 5 s (measured)', async () => {
    await f.primary.setMode('ok');
    const t0 = Date.now();
    let back = -1;
    while (Date.now() - t0 < 10_000) {
      const r = await call(p);
      if (r.provider === 'primary') {
        back = Date.now() - t0;
        break;
      }
      await sleep(50);
    }
    report(`recovery after a health-visible outage: traffic back on the primary after ${back} ms`);
    expect(back).toBeGreaterThanOrEqual(0);
    expect(back).toBeLessThan(5000);
    expect(circuitOf(p, 'primary')).toBe('closed');
    expect(p.service.isDegraded()).toBe(false);
  });

  it('when health checks cannot tell (only chat is broken), half-open probes bring it back within 5 s', async () => {
    await f.primary.setMode('garbage'); // chat only: the models endpoint stays healthy
    // Keep failing long enough for the ejection to grow to its maximum (1 s, 2 s, 4 s).
    const start = f.primary.stats().chat;
    const t0 = Date.now();
    let probes = 0;
    while (Date.now() - t0 < 8_000) {
      const before = f.primary.stats().chat;
      const r = await call(p);
      expect(r.provider).toBe('secondary');
      if (circuitOf(p, 'primary') === 'open' && f.primary.stats().chat > before) probes++;
      await sleep(50);
    }
    // Only a handful of real requests reached the broken primary in 8 s of steady traffic.
    // (5 failures to open it, then one probe per ejection.)
    expect(f.primary.stats().chat - start).toBeLessThanOrEqual(10);
    await f.primary.setMode('ok');
    const t1 = Date.now();
    let back = -1;
    while (Date.now() - t1 < 10_000) {
      const r = await call(p);
      if (r.provider === 'primary') {
        back = Date.now() - t1;
        break;
      }
      await sleep(50);
    }
    report(
      `recovery without a health signal: back after ${back} ms (${probes} half-open probes failed before)`,
    );
    expect(back).toBeGreaterThanOrEqual(0);
    expect(back).toBeLessThan(5000);
  });
});

describe('health checks', () => {
  let f: Pair;
  let p: ProvidersInstance;
  beforeAll(async () => {
    f = await fakes();
    // Default interval (5 s) and default timeouts.
    p = await startProviders(twoProviderCatalog(), f.env);
    await waitFor(() => p.service.statuses().every((s) => s.status === 'up'), 3000);
  });
  afterAll(async () => {
    await p.close();
    await f.close();
  });

  it('a hung provider shows as down within 5 s with no traffic at all, and as up again', async () => {
    await f.primary.setMode('hang');
    const t0 = Date.now();
    const shown = await waitFor(
      () => p.service.statuses().find((s) => s.provider === 'primary')?.status === 'down',
      8000,
    );
    report(`hung provider shown down after ${shown} ms`);
    expect(Date.now() - t0).toBeLessThan(5300);
    const row = p.service.statuses().find((s) => s.provider === 'primary')!;
    expect(row.circuit).toBe('open');
    expect(row.last_error).toMatch(/^health check: timeout/);
    expect(Date.parse(row.last_checked_at!)).toBeGreaterThan(t0);
    expect(f.primary.stats().chat).toBe(0);
    expect(p.service.isDegraded()).toBe(true);
    const gauge = await p.metrics.providerUp.get();
    expect(gauge.values.find((v) => v.labels.provider === 'primary')?.value).toBe(0);

    await f.primary.setMode('ok');
    await waitFor(
      () => p.service.statuses().find((s) => s.provider === 'primary')?.status === 'up',
      2500,
    );
    expect(circuitOf(p, 'primary')).toBe('half_open');
    expect((await call(p)).provider).toBe('primary');
    expect(circuitOf(p, 'primary')).toBe('closed');
    const gaugeUp = await p.metrics.providerUp.get();
    expect(gaugeUp.values.find((v) => v.labels.provider === 'primary')?.value).toBe(1);
  });
});

describe('every circuit open', () => {
  let f: Pair;
  let p: ProvidersInstance;
  beforeAll(async () => {
    f = await fakes();
    const breaker = { failure_threshold: 1, open_ms: 30000, max_open_ms: 30000 };
    p = await startProviders(
      twoProviderCatalog({
        primary: { max_retries: 0, health_check: false, circuit_breaker: breaker },
        secondary: { max_retries: 0, health_check: false, circuit_breaker: breaker },
      }),
      f.env,
    );
  });
  afterAll(async () => {
    await p.close();
    await f.close();
  });

  it('503 no_provider_available without any call, with Retry-After', async () => {
    await f.primary.setMode('500');
    await f.secondary.setMode('503');
    expect((await call(p)).error?.code).toBe('all_providers_failed');
    const calls = f.primary.stats().chat + f.secondary.stats().chat;
    const r = await call(p);
    expect(r.error?.code).toBe('no_provider_available');
    expect(r.error?.status).toBe(503);
    expect(Number(r.error?.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(r.draft.attempts).toEqual([
      { provider: 'primary', outcome: 'skipped_circuit_open', latency_ms: 0 },
      { provider: 'secondary', outcome: 'skipped_circuit_open', latency_ms: 0 },
    ]);
    expect(f.primary.stats().chat + f.secondary.stats().chat).toBe(calls);
    expect(p.service.isDegraded()).toBe(true);
    expect(p.service.statuses().filter((s) => s.provider !== 'mock')).toEqual([
      expect.objectContaining({ provider: 'primary', status: 'down', circuit: 'open' }),
      expect.objectContaining({ provider: 'secondary', status: 'down', circuit: 'open' }),
    ]);
  });
});

describe('breaker state shared through Redis', () => {
  let f: Pair;
  const instances: ProvidersInstance[] = [];
  const prefix = uniquePrefix('fleet');
  const catalog = twoProviderCatalog({
    primary: {
      max_retries: 0,
      health_check: false,
      circuit_breaker: { failure_threshold: 2, open_ms: 3000, max_open_ms: 3000 },
    },
    secondary: { health_check: false },
  });
  beforeAll(async () => {
    f = await fakes();
  });
  afterAll(async () => {
    for (const i of instances) await i.close();
    await f.close();
  });

  it('another instance adopts an opened circuit, a new instance starts with it, and a close spreads', async () => {
    const a = await startProviders(catalog, f.env, prefix);
    const b = await startProviders(catalog, f.env, prefix);
    instances.push(a, b);
    await f.primary.setMode('500');
    await call(a);
    await call(a);
    expect(circuitOf(a, 'primary')).toBe('open');
    const calls = f.primary.stats().chat;

    // B made no call, yet learns within its 1 s sync period.
    const learned = await waitFor(() => circuitOf(b, 'primary') === 'open', 2000);
    report(`fleet: second instance adopted the open circuit after ${learned} ms`);
    const rb = await call(b);
    expect(rb.provider).toBe('secondary');
    expect(rb.draft.attempts[0].outcome).toBe('skipped_circuit_open');

    // A brand-new instance starts with the fleet's view.
    const c = await startProviders(catalog, f.env, prefix);
    instances.push(c);
    expect(circuitOf(c, 'primary')).toBe('open');
    expect(f.primary.stats().chat).toBe(calls);

    // The primary recovers; A's probe closes its circuit and the others follow.
    await f.primary.setMode('ok');
    await waitFor(() => circuitOf(a, 'primary') === 'half_open', 4000);
    expect((await call(a)).provider).toBe('primary');
    expect(circuitOf(a, 'primary')).toBe('closed');
    await waitFor(
      () => circuitOf(b, 'primary') === 'closed' && circuitOf(c, 'primary') === 'closed',
      2000,
    );
  });

  it('stores the state under the global circuit key, never blocking on it', async () => {
    const a = instances[0];
    const raw = await a.redis.client.get(a.redis.keys.global('circuit', 'primary'));
    expect(JSON.parse(raw!)).toMatchObject({ state: 'closed', trips: expect.any(Number) });
  });
});

describe('a hosted provider without a key', () => {
  let f: Pair;
  let p: ProvidersInstance;
  beforeAll(async () => {
    f = await fakes();
    // The primary's circuit opens on its first failure and stays open, for the mixed 503 below.
    const breaker = { failure_threshold: 1, open_ms: 30000, max_open_ms: 30000 };
    const catalog = twoProviderCatalog({
      primary: { max_retries: 0, health_check: false, circuit_breaker: breaker },
    }).replace(/api_key: "sk-ant-[^"]*"/, 'api_key: ""');
    p = await startProviders(catalog, f.env);
  });
  afterAll(async () => {
    await p.close();
    await f.close();
  });

  it('is unconfigured, not down: never probed or called; its routes are skipped', async () => {
    const row = p.service.statuses().find((s) => s.provider === 'secondary');
    expect(row).toMatchObject({
      status: 'unconfigured',
      circuit: 'closed',
      last_error: 'unconfigured: set providers.secondary.api_key in the catalog',
    });
    expect(p.service.isDegraded()).toBe(false);

    const fallbacks = async () =>
      (await p.metrics.fallbacks.get()).values
        .filter((v) => v.labels.from_provider === 'secondary')
        .reduce((n, v) => n + v.value, 0);
    const before = await fallbacks();
    const ok = await call(p, 'chat-reversed');
    expect(ok.provider).toBe('primary');
    expect(ok.draft.attempts.map((a) => a.outcome)).toEqual(['skipped_unconfigured', 'success']);
    // Passing over a provider without its key is not a fallback.
    expect(await fallbacks()).toBe(before);

    await f.primary.setMode('500');
    const r = await call(p, 'chat-reversed');
    expect(r.error?.code).toBe('all_providers_failed');
    expect(r.draft.attempts[0]).toEqual({
      provider: 'secondary',
      outcome: 'skipped_unconfigured',
      latency_ms: 0,
    });

    // Now no route can be called: one circuit open, one provider without its key. The 503 waits
    // for the circuit and still says which key would add a route.
    const none = await call(p, 'chat-reversed');
    expect(none.error?.code).toBe('no_provider_available');
    expect(none.error?.message).toBe(
      'No provider is available for this model right now (secondary: skipped_unconfigured, ' +
        'primary: skipped_circuit_open); secondary is unconfigured: set providers.secondary.api_key ' +
        'in the catalog.',
    );
    expect(Number(none.error?.headers['Retry-After'])).toBeGreaterThan(1);
    expect(none.error?.headers['x-should-retry']).toBeUndefined();
    // Degraded now, because of the open circuit.
    expect(p.service.isDegraded()).toBe(true);
    await sleep(1200);
    expect(f.secondary.stats().requests).toBe(0);
  });
});
