/*
 * Fallback (docs/providers.md): every failure kind of the primary yields a success from the
 * fallback with the attempts recorded; a 400 does not fall back; both down → 502 (or 504) within
 * the deadline, with no key in the error. Real ProvidersService, real sockets, real Redis.
 */
import { type FakeMode, type FakeUpstream, startFakeUpstream } from '../support/fake-upstream';
import { Logger } from '@nestjs/common';
import { newAuditDraft } from '@gateway/context';
import {
  call,
  chat,
  PRIMARY_KEY,
  type ProvidersInstance,
  SECONDARY_KEY,
  startProviders,
  tenant,
  twoProviderCatalog,
} from '../support/providers';

jest.setTimeout(30_000);

// Breakers out of the way (each case must reach the primary) and no health checks: this file is
// about what one request does.
const NO_BREAKER = {
  failure_threshold: 100000,
  failure_ratio: 1,
  min_requests: 100000,
};
const TIMEOUT_MS = 400;

describe('providers: fallback within a request', () => {
  let primary: FakeUpstream;
  let secondary: FakeUpstream;
  let p: ProvidersInstance;

  beforeAll(async () => {
    primary = await startFakeUpstream({ name: 'primary' });
    secondary = await startFakeUpstream({ name: 'secondary' });
    p = await startProviders(
      twoProviderCatalog({
        primary: {
          timeout_ms: TIMEOUT_MS,
          max_retries: 1,
          health_check: false,
          max_response_bytes: 256 * 1024,
          circuit_breaker: NO_BREAKER,
        },
        secondary: { timeout_ms: TIMEOUT_MS, health_check: false, circuit_breaker: NO_BREAKER },
      }),
      { PRIMARY_URL: primary.url, SECONDARY_URL: secondary.url },
    );
  });
  afterEach(async () => {
    await primary.reset();
    await secondary.reset();
  });
  afterAll(async () => {
    await p.close();
    await primary.close();
    await secondary.close();
  });

  it('a healthy primary answers, one attempt recorded', async () => {
    const r = await call(p);
    expect(r.error).toBeNull();
    expect(r.provider).toBe('primary');
    expect(r.draft.provider).toBe('primary');
    expect(r.draft.providerModel).toBe('gpt-4o-mini');
    expect(r.draft.attempts).toEqual([
      { provider: 'primary', outcome: 'success', latency_ms: expect.any(Number) },
    ]);
    expect(r.draft.upstreamLatencyMs).toEqual(expect.any(Number));
    expect(secondary.stats().chat).toBe(0);
  });

  const kinds: Array<[FakeMode, Record<string, unknown>, string]> = [
    ['500', {}, 'error'],
    ['503', {}, 'error'],
    ['overloaded', {}, 'error'],
    ['429', { retryAfterSeconds: 1 }, 'rate_limited'],
    ['401', {}, 'error'],
    ['refuse', {}, 'error'],
    ['reset', {}, 'error'],
    ['hang', {}, 'timeout'],
    ['garbage', {}, 'error'],
    ['missing_fields', {}, 'error'],
    ['too_large', { tooLargeBytes: 1024 * 1024 }, 'error'],
  ];

  it.each(kinds)(
    'primary %s → success from the fallback, attempts recorded',
    async (mode, opts, outcome) => {
      await primary.setMode(mode, opts);
      const r = await call(p);
      expect(r.error).toBeNull();
      expect(r.provider).toBe('secondary');
      expect(r.draft.provider).toBe('secondary');
      expect(r.draft.providerModel).toBe('claude-3-5-haiku-latest');
      const attempts = r.draft.attempts;
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts.at(-1)).toEqual({
        provider: 'secondary',
        outcome: 'success',
        latency_ms: expect.any(Number),
      });
      const failed = attempts.slice(0, -1);
      for (const a of failed) expect(a).toMatchObject({ provider: 'primary', outcome });
      // 1 + max_retries at most on the primary; the answer came from the Anthropic fake.
      expect(failed.length).toBeLessThanOrEqual(2);
      expect(secondary.stats().chatOk).toBe(1);
      expect(secondary.lastChatRequest?.path).toBe('/v1/messages');
      // Nothing waits longer than the primary's deadline plus the fallback's answer.
      expect(r.ms).toBeLessThan(TIMEOUT_MS + 1000);
    },
  );

  it('logs each failed attempt with the id of the request it belongs to', async () => {
    await primary.setMode('500');
    const debug = jest.spyOn(Logger.prototype, 'debug');
    try {
      const draft = newAuditDraft('req-attempt-log');
      const model = p.service.model('chat');
      if (!model) throw new Error('no model chat');
      await p.service.complete(tenant(), model, chat(), draft);
      const lines = debug.mock.calls.filter(([, message]) => message === 'upstream attempt failed');
      expect(lines.length).toBeGreaterThanOrEqual(1);
      for (const [fields] of lines) {
        expect(fields).toMatchObject({ requestId: 'req-attempt-log', provider: 'primary' });
      }
    } finally {
      debug.mockRestore();
    }
  });

  it('does not retry a Retry-After that does not fit the deadline', async () => {
    await primary.setMode('429', { retryAfterSeconds: 5 });
    const r = await call(p);
    expect(r.provider).toBe('secondary');
    expect(r.draft.attempts.map((a) => a.outcome)).toEqual(['rate_limited', 'success']);
    expect(r.ms).toBeLessThan(1000);
  });

  it('a 400 from the provider is the client’s 400 with the provider message; no fallback', async () => {
    await primary.setMode('400');
    const r = await call(p);
    expect(r.error?.code).toBe('upstream_bad_request');
    expect(r.error?.status).toBe(400);
    expect(r.error?.message).toMatch(/maximum context length is 8192 tokens/);
    expect(r.draft.attempts).toEqual([
      { provider: 'primary', outcome: 'rejected', latency_ms: expect.any(Number) },
    ]);
    expect(secondary.stats().chat).toBe(0);
    expect(primary.stats().chat).toBe(1);
  });

  it('both down → 502 all_providers_failed within the deadline, listing attempts, no keys', async () => {
    await primary.setMode('500');
    await secondary.setMode('refuse');
    const r = await call(p);
    expect(r.error?.code).toBe('all_providers_failed');
    expect(r.error?.status).toBe(502);
    expect(r.ms).toBeLessThan(2 * TIMEOUT_MS + 500);
    const attempts = (r.error?.details as { attempts: unknown[] }).attempts;
    expect(attempts).toEqual(r.draft.attempts);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    const everything = JSON.stringify({
      message: r.error?.message,
      details: r.error?.details,
      draft: r.draft,
    });
    expect(everything).toContain('primary');
    expect(everything).toContain('secondary');
    for (const secret of [PRIMARY_KEY, SECONDARY_KEY, 'SECRET', 'sk-']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('a provider that echoes a key in its 400 message does not leak it', async () => {
    await primary.setMode('400', { message: `Your key ${PRIMARY_KEY} cannot do this` });
    const r = await call(p);
    expect(r.error?.code).toBe('upstream_bad_request');
    expect(r.error?.message).not.toContain('SECRET');
    expect(r.error?.message).toContain('[redacted]');
  });

  it('every call timed out → 504 upstream_timeout within the deadline', async () => {
    await primary.setMode('hang');
    await secondary.setMode('hang');
    const r = await call(p);
    expect(r.error?.code).toBe('upstream_timeout');
    expect(r.error?.status).toBe(504);
    expect(r.draft.attempts.map((a) => a.outcome)).toEqual(['timeout', 'timeout']);
    expect(r.ms).toBeGreaterThanOrEqual(2 * TIMEOUT_MS - 20);
    expect(r.ms).toBeLessThan(2 * TIMEOUT_MS + 500);
  });

  it('provider_preferences reorder the routes: the preferred provider answers first', async () => {
    const r = await call(p, 'chat', tenant({ providerPreferences: ['secondary'] }));
    expect(r.provider).toBe('secondary');
    expect(r.draft.attempts).toHaveLength(1);
    expect(primary.stats().chat).toBe(0);
  });

  it('the caller giving up stops the request without blaming the provider', async () => {
    await primary.setMode('hang');
    const model = p.service.model('chat')!;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(
      p.service.complete(tenant(), model, chat(), newAuditDraft(), controller.signal),
    ).rejects.toMatchObject({ code: 'upstream_timeout' });
    expect(secondary.stats().chat).toBe(0);
  });

  it('records metrics: attempts by outcome, fallbacks, operation duration and token usage', async () => {
    await primary.setMode('500');
    const before = await p.metrics.fallbacks.get();
    const fallbacksBefore =
      before.values.find(
        (v) => v.labels.from_provider === 'primary' && v.labels.to_provider === 'secondary',
      )?.value ?? 0;
    await call(p);
    const after = await p.metrics.fallbacks.get();
    const fallbacksAfter = after.values.find(
      (v) => v.labels.from_provider === 'primary' && v.labels.to_provider === 'secondary',
    )?.value;
    expect(fallbacksAfter).toBe(fallbacksBefore + 1);
    const attempts = await p.metrics.upstreamAttempts.get();
    expect(
      attempts.values.some((v) => v.labels.provider === 'primary' && v.labels.outcome === 'error'),
    ).toBe(true);
    const tokens = await p.metrics.tokenUsage.get();
    expect(
      tokens.values.some(
        (v) =>
          v.labels.gen_ai_provider_name === 'secondary' &&
          v.labels.gen_ai_token_type === 'output' &&
          v.metricName === 'gen_ai_client_token_usage_count',
      ),
    ).toBe(true);
    const durations = await p.metrics.operationDuration.get();
    expect(
      durations.values.some(
        (v) => v.labels.gen_ai_provider_name === 'primary' && v.labels.error_type === 'server',
      ),
    ).toBe(true);
  });
});
