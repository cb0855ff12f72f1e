import type { IncomingMessage } from 'node:http';
import { Logger } from '@nestjs/common';
import type { Repository } from 'typeorm';
import type { GatewayConfigService } from '@gateway/config';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics } from '@gateway/observability';
import { RedisKeys, type RedisService } from '@gateway/redis';
import type { AdminKeyEntity } from './admin-key.entity';
import {
  ApiKeyAuthenticator,
  STALE_KEY_MAX_AGE_MS,
  type KeyResolution,
} from './api-key-authenticator.service';
import type { ApiKeyEntity } from './api-key.entity';
import { apiKeyDigestId, generateApiKey, hashApiKey } from './api-key';
import { AUTH_FAILURE_LIMIT, AuthFailureThrottle } from './auth-failure-throttle.service';
import { RedisThrottlerStorage } from './redis-throttler.storage';
import { ALL_TENANTS, type TenantChangeListener } from './tenant-change-notifier.service';
import type { TenantChangeNotifier } from './tenant-change-notifier.service';
import type { TenantEntity } from './tenant.entity';

const ADMIN_KEY = 'bootstrap-admin-key-0123456789abcdefghij';

function from(address: string): IncomingMessage {
  return { socket: { remoteAddress: address }, headers: {} } as unknown as IncomingMessage;
}
const CLIENT = from('198.51.100.7');
const TENANT_ID = '11111111-1111-4111-8111-111111111111';

function tenant(overrides: Partial<TenantEntity> = {}): TenantEntity {
  return {
    id: TENANT_ID,
    name: 'acme',
    rateLimit: 10,
    tokensPerMinute: null,
    monthlyBudgetUnits: 500_000_000_000,
    providerPreferences: ['mock'],
    allowedModels: null,
    cacheTtlSeconds: null,
    alertThresholds: [0.5, 0.8, 1],
    alertWebhookUrl: null,
    alertWebhookSecret: null,
    disabledAt: null,
    version: 1,
    createdAt: new Date(),
    updatedAt: new Date(),
    ...overrides,
  };
}

/** A stand-in for Postgres that counts reads: the authenticator must not read on a warm key. */
class FakeKeyStore {
  rows = new Map<string, ApiKeyEntity>();
  reads = 0;
  gate: Promise<void> | null = null;
  /** Postgres unreachable: every read fails as the pool's deadline would. */
  down = false;

  add(key: string, t: TenantEntity, revokedAt: Date | null = null): ApiKeyEntity {
    const row = {
      id: `key-${this.rows.size}`,
      tenantId: t.id,
      tenant: t,
      keyHash: hashApiKey(key),
      prefix: key.slice(0, 13),
      createdAt: new Date(),
      revokedAt,
    } satisfies ApiKeyEntity;
    this.rows.set(row.keyHash.toString('hex'), row);
    return row;
  }

  repo(): Repository<ApiKeyEntity> {
    return {
      findOne: async ({ where }: { where: { keyHash: Buffer } }) => {
        this.reads++;
        if (this.down) throw new Error('timeout exceeded when trying to connect');
        const snapshot = this.rows.get(where.keyHash.toString('hex'));
        const copy = snapshot ? { ...snapshot, tenant: { ...snapshot.tenant! } } : null;
        if (this.gate) await this.gate;
        return copy;
      },
    } as unknown as Repository<ApiKeyEntity>;
  }
}

class LocalNotifier {
  listeners = new Set<TenantChangeListener>();
  onChange(l: TenantChangeListener) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(id: string) {
    for (const l of this.listeners) l(id);
  }
}

/**
 * Redis as far as the throttle uses it: key marks in a set, and no scripting, so failures are
 * counted by the storage's in-process fallback (the same sliding window; the Redis script itself
 * is covered by test/integration/redis-throttler-storage.int-spec.ts). `up = false` fails every call.
 */
class FakeRedis {
  readonly keys = new RedisKeys('t:');
  readonly marks = new Set<string>();
  up = true;
  private readonly client = {
    evalsha: () => Promise.reject(new Error('NOSCRIPTING in this fake')),
    eval: () => Promise.reject(new Error('NOSCRIPTING in this fake')),
    zrem: () => Promise.resolve(0),
    set: (k: string) => {
      this.marks.add(k);
      return Promise.resolve('OK');
    },
    exists: (k: string) => Promise.resolve(this.marks.has(k) ? 1 : 0),
  };
  execute<T>(op: (c: typeof this.client) => Promise<T>): Promise<T> {
    return this.up ? op(this.client) : Promise.reject(new Error('connection refused'));
  }
}

const metrics = new GatewayMetrics();

/** llm_gateway_auth_last_known_total{scope="tenant"} so far (the family is per process). */
async function lastKnownAnswers(): Promise<number> {
  const { values } = await metrics.authLastKnown.get();
  return values.find((v) => v.labels.scope === 'tenant')?.value ?? 0;
}

function throttleFor(redis: FakeRedis, config: object): AuthFailureThrottle {
  const r = redis as unknown as RedisService;
  return new AuthFailureThrottle(config as GatewayConfigService, new RedisThrottlerStorage(r), r);
}

function build(
  store: FakeKeyStore,
  ttlMs = 800,
  adminRows: AdminKeyEntity[] = [],
  redis = new FakeRedis(),
) {
  const notifier = new LocalNotifier();
  const config = {
    config: { auth: { adminApiKey: ADMIN_KEY, keyCacheTtlMs: ttlMs, trustedProxies: [] } },
  };
  const throttle = throttleFor(redis, config);
  const adminRepo = {
    findOne: ({ where }: { where: { keyHash: Buffer } }) =>
      Promise.resolve(adminRows.find((r) => r.keyHash.equals(where.keyHash)) ?? null),
  } as unknown as Repository<AdminKeyEntity>;
  const auth = new ApiKeyAuthenticator(
    config as unknown as GatewayConfigService,
    notifier as unknown as TenantChangeNotifier,
    throttle,
    store.repo(),
    adminRepo,
    metrics,
  );
  auth.onModuleInit();
  return { auth, notifier, throttle, redis };
}

async function resolved(r: KeyResolution | Promise<KeyResolution>): Promise<KeyResolution> {
  return r;
}

describe('ApiKeyAuthenticator', () => {
  afterEach(() => jest.useRealTimers());

  it('resolves a tenant key once from Postgres, then synchronously from memory', async () => {
    const store = new FakeKeyStore();
    const key = generateApiKey('tenant');
    const row = store.add(key, tenant());
    const { auth } = build(store);

    const first = await resolved(auth.resolve(key, CLIENT));
    expect(first).toMatchObject({ kind: 'tenant', disabled: false });
    if (first.kind !== 'tenant') throw new Error('unreachable');
    expect(first.tenant).toMatchObject({
      tenantId: TENANT_ID,
      apiKeyId: row.id,
      monthlyBudget: '50',
      providerPreferences: ['mock'],
    });
    expect(Object.isFrozen(first.tenant)).toBe(true);

    for (let i = 0; i < 100; i++) {
      const again = auth.resolve(key, CLIENT);
      expect(again).not.toBeInstanceOf(Promise);
      expect(again).toBe(first);
    }
    expect(store.reads).toBe(1);
  });

  it('coalesces concurrent first lookups of one key into one read', async () => {
    const store = new FakeKeyStore();
    const key = generateApiKey('tenant');
    store.add(key, tenant());
    const { auth } = build(store);
    const all = await Promise.all(
      Array.from({ length: 20 }, () => resolved(auth.resolve(key, CLIENT))),
    );
    expect(new Set(all).size).toBe(1);
    expect(store.reads).toBe(1);
  });

  it('remembers unknown keys so a repeated bad key does not hammer Postgres', async () => {
    const store = new FakeKeyStore();
    const { auth } = build(store);
    const bad = generateApiKey('tenant');
    expect(await resolved(auth.resolve(bad, CLIENT))).toEqual({ kind: 'invalid' });
    for (let i = 0; i < 50; i++) {
      expect(await resolved(auth.resolve(bad, CLIENT))).toEqual({ kind: 'invalid' });
    }
    expect(store.reads).toBe(1);
  });

  it('refuses malformed keys without any read', async () => {
    const store = new FakeKeyStore();
    const { auth } = build(store);
    for (const bad of ['nope', 'llm-gw-x', `Bearer ${generateApiKey('tenant')}`]) {
      expect(await resolved(auth.resolve(bad, CLIENT))).toEqual({ kind: 'invalid' });
    }
    expect(store.reads).toBe(0);
  });

  it('accepts the bootstrap admin key without a read', async () => {
    const store = new FakeKeyStore();
    const { auth } = build(store);
    expect(auth.resolve(ADMIN_KEY, CLIENT)).toEqual({
      kind: 'admin',
      admin: { adminKeyId: 'bootstrap' },
    });
    expect(await resolved(auth.resolve(`${ADMIN_KEY}x`, CLIENT))).toEqual({ kind: 'invalid' });
    expect(store.reads).toBe(0);
  });

  it('resolves API-created admin keys from admin_keys, and not revoked ones', async () => {
    const store = new FakeKeyStore();
    const live = generateApiKey('admin');
    const revoked = generateApiKey('admin');
    const rows = [
      {
        id: 'a1',
        name: null,
        keyHash: hashApiKey(live),
        prefix: '',
        createdAt: new Date(),
        revokedAt: null,
      },
      {
        id: 'a2',
        name: null,
        keyHash: hashApiKey(revoked),
        prefix: '',
        createdAt: new Date(),
        revokedAt: new Date(),
      },
    ];
    const { auth } = build(store, 800, rows);
    expect(await resolved(auth.resolve(live, CLIENT))).toEqual({
      kind: 'admin',
      admin: { adminKeyId: 'a1' },
    });
    expect(await resolved(auth.resolve(revoked, CLIENT))).toEqual({ kind: 'invalid' });
  });

  it('treats revoked keys as unknown and reports disabled tenants', async () => {
    const store = new FakeKeyStore();
    const revoked = generateApiKey('tenant');
    const ofDisabled = generateApiKey('tenant');
    store.add(revoked, tenant(), new Date());
    store.add(
      ofDisabled,
      tenant({ id: '22222222-2222-4222-8222-222222222222', disabledAt: new Date() }),
    );
    const { auth } = build(store);
    expect(await resolved(auth.resolve(revoked, CLIENT))).toEqual({ kind: 'invalid' });
    expect(await resolved(auth.resolve(ofDisabled, CLIENT))).toMatchObject({
      kind: 'tenant',
      disabled: true,
    });
  });

  it('drops a tenant’s cached keys on a change message', async () => {
    const store = new FakeKeyStore();
    const key = generateApiKey('tenant');
    const row = store.add(key, tenant());
    const other = generateApiKey('tenant');
    store.add(other, tenant({ id: '33333333-3333-4333-8333-333333333333' }));
    const { auth, notifier } = build(store);
    await resolved(auth.resolve(key, CLIENT));
    await resolved(auth.resolve(other, CLIENT));
    expect(store.reads).toBe(2);

    row.revokedAt = new Date();
    notifier.emit(TENANT_ID);
    expect(await resolved(auth.resolve(key, CLIENT))).toEqual({ kind: 'invalid' });
    expect(auth.resolve(other, CLIENT)).not.toBeInstanceOf(Promise); // other tenants stay warm
    expect(store.reads).toBe(3);
  });

  it('drops everything, unknown keys included, on ALL_TENANTS', async () => {
    const store = new FakeKeyStore();
    const key = generateApiKey('tenant');
    const { auth, notifier } = build(store);
    expect(await resolved(auth.resolve(key, CLIENT))).toEqual({ kind: 'invalid' });
    store.add(key, tenant());
    notifier.emit(ALL_TENANTS);
    expect(await resolved(auth.resolve(key, CLIENT))).toMatchObject({ kind: 'tenant' });
  });

  it('never trusts an entry longer than the ttl, even without any message', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const store = new FakeKeyStore();
    const key = generateApiKey('tenant');
    const row = store.add(key, tenant());
    const { auth } = build(store, 800);
    await resolved(auth.resolve(key, CLIENT));
    row.revokedAt = new Date(); // revoked on another instance; the message is lost
    jest.setSystemTime(1_000_799);
    expect(auth.resolve(key, CLIENT)).toMatchObject({ kind: 'tenant' });
    jest.setSystemTime(1_000_800);
    expect(await resolved(auth.resolve(key, CLIENT))).toEqual({ kind: 'invalid' });
  });

  it('does not cache a lookup that raced a change', async () => {
    const store = new FakeKeyStore();
    const key = generateApiKey('tenant');
    const row = store.add(key, tenant());
    const { auth, notifier } = build(store);
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    const inflight = resolved(auth.resolve(key, CLIENT)); // read the row before the revocation…
    while (store.reads === 0) await Promise.resolve();
    row.revokedAt = new Date();
    notifier.emit(TENANT_ID); // …and the change lands while the read is in flight
    release();
    store.gate = null;
    expect(await inflight).toMatchObject({ kind: 'tenant' });
    expect(await resolved(auth.resolve(key, CLIENT))).toEqual({ kind: 'invalid' });
  });

  it('answers 503 dependency_unavailable when Postgres cannot be read', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const failing = new ApiKeyAuthenticator(
      {
        config: { auth: { adminApiKey: ADMIN_KEY, keyCacheTtlMs: 800 } },
      } as unknown as GatewayConfigService,
      new LocalNotifier() as unknown as TenantChangeNotifier,
      throttleFor(new FakeRedis(), { config: { auth: { trustedProxies: [] } } }),
      {
        findOne: () => Promise.reject(new Error('connection refused')),
      } as unknown as Repository<ApiKeyEntity>,
      {} as Repository<AdminKeyEntity>,
      metrics,
    );
    const err = await resolved(failing.resolve(generateApiKey('tenant'), CLIENT)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('dependency_unavailable');
    expect(logged).toHaveBeenCalled();
    logged.mockRestore();
  });

  describe('while Postgres cannot answer (stale-if-error)', () => {
    beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
    afterEach(() => jest.restoreAllMocks());

    it('serves a key Postgres vouched for earlier, past the fresh ttl, with its last answer', async () => {
      jest.useFakeTimers({ now: 1_000_000 });
      const store = new FakeKeyStore();
      const key = generateApiKey('tenant');
      store.add(key, tenant());
      const { auth } = build(store, 800);
      const before = await resolved(auth.resolve(key, CLIENT));
      jest.setSystemTime(1_000_000 + 30 * 60_000); // long out of the fresh cache
      store.down = true;
      expect(await resolved(auth.resolve(key, CLIENT))).toBe(before);
      // The failure is recent: later requests get the last answer without waiting on Postgres.
      const readsAfterFailure = store.reads;
      const counted = await lastKnownAnswers();
      for (let i = 0; i < 20; i++) expect(auth.resolve(key, CLIENT)).toBe(before);
      // Operators see it: each request served from a last known answer is counted.
      expect((await lastKnownAnswers()) - counted).toBe(20);
      await jest.runAllTimersAsync(); // the probe fails like the first lookup did
      expect(store.reads - readsAfterFailure).toBe(1); // one probe for the 20 requests
      // Back: past the probe interval, a request still gets the last answer at once while its
      // probe reads Postgres; that read ends the outage and refills the fresh cache.
      store.down = false;
      jest.setSystemTime(1_000_000 + 30 * 60_000 + 600);
      const readsBeforeProbe = store.reads;
      expect(auth.resolve(key, CLIENT)).toBe(before);
      await jest.runAllTimersAsync();
      expect(store.reads).toBe(readsBeforeProbe + 1);
      const fresh = auth.resolve(key, CLIENT);
      expect(fresh).not.toBeInstanceOf(Promise);
      expect(fresh).not.toBe(before);
      expect(fresh).toMatchObject({ kind: 'tenant' });
    });

    it('forgets it after STALE_KEY_MAX_AGE_MS: then the key is 503 like any unverified key', async () => {
      jest.useFakeTimers({ now: 1_000_000 });
      const store = new FakeKeyStore();
      const key = generateApiKey('tenant');
      store.add(key, tenant());
      const { auth } = build(store, 800);
      await resolved(auth.resolve(key, CLIENT));
      jest.setSystemTime(1_000_000 + STALE_KEY_MAX_AGE_MS);
      store.down = true;
      jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const err = await resolved(auth.resolve(key, CLIENT)).catch((e: unknown) => e);
      expect((err as GatewayError).code).toBe('dependency_unavailable');
    });

    it('does not serve a key revoked, or a tenant changed, before the outage', async () => {
      const store = new FakeKeyStore();
      const key = generateApiKey('tenant');
      const row = store.add(key, tenant());
      const { auth, notifier } = build(store, 0); // no fresh cache: every request reads
      await resolved(auth.resolve(key, CLIENT));
      row.revokedAt = new Date();
      notifier.emit(TENANT_ID); // revoked through the admin API (any instance)
      store.down = true;
      jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const err = await resolved(auth.resolve(key, CLIENT)).catch((e: unknown) => e);
      expect((err as GatewayError).code).toBe('dependency_unavailable');
    });

    it('does not serve a key Postgres last called revoked, even without a message', async () => {
      const store = new FakeKeyStore();
      const key = generateApiKey('tenant');
      const row = store.add(key, tenant());
      const { auth } = build(store, 0);
      await resolved(auth.resolve(key, CLIENT));
      row.revokedAt = new Date(); // the message was lost, but a later read saw it
      expect(await resolved(auth.resolve(key, CLIENT))).toEqual({ kind: 'invalid' });
      row.revokedAt = null;
      store.down = true;
      // The "unknown" answer stands (401); the last valid answer is gone.
      expect(await resolved(auth.resolve(key, CLIENT))).toEqual({ kind: 'invalid' });
    });

    it('drops every last-known answer on ALL_TENANTS (messages may have been missed)', async () => {
      const store = new FakeKeyStore();
      const key = generateApiKey('tenant');
      store.add(key, tenant());
      const { auth, notifier } = build(store, 0);
      await resolved(auth.resolve(key, CLIENT));
      notifier.emit(ALL_TENANTS);
      store.down = true;
      jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const err = await resolved(auth.resolve(key, CLIENT)).catch((e: unknown) => e);
      expect((err as GatewayError).code).toBe('dependency_unavailable');
    });
  });

  describe('failed-authentication throttle', () => {
    /** Presents `n` distinct unknown keys from `req`; each must be a plain 401 (INVALID). */
    async function failTimes(auth: ApiKeyAuthenticator, n: number, req = CLIENT) {
      for (let i = 0; i < n; i++) {
        expect(await resolved(auth.resolve(generateApiKey('tenant'), req))).toEqual({
          kind: 'invalid',
        });
      }
    }

    async function refusal(r: () => KeyResolution | Promise<KeyResolution>): Promise<GatewayError> {
      let outcome: unknown;
      try {
        outcome = await r();
      } catch (err) {
        outcome = err;
      }
      if (!(outcome instanceof GatewayError))
        throw new Error(`not refused: ${JSON.stringify(outcome)}`);
      return outcome;
    }

    it('refuses a client’s unknown keys with 429 after 100 failures, without reading Postgres', async () => {
      const store = new FakeKeyStore();
      const { auth } = build(store);
      await failTimes(auth, AUTH_FAILURE_LIMIT);
      expect(store.reads).toBe(AUTH_FAILURE_LIMIT);

      for (let i = 0; i < 50; i++) {
        const err = await refusal(() => auth.resolve(generateApiKey('tenant'), CLIENT));
        expect(err.code).toBe('too_many_auth_failures');
        expect(Number(err.headers['Retry-After'])).toBeGreaterThanOrEqual(59);
        expect(Number(err.headers['Retry-After'])).toBeLessThanOrEqual(60);
      }
      // Malformed keys and keys already known to be unknown are refused too, from memory.
      expect((await refusal(() => auth.resolve('nope', CLIENT))).code).toBe(
        'too_many_auth_failures',
      );
      expect(store.reads).toBe(AUTH_FAILURE_LIMIT);

      // Another client is not affected.
      await failTimes(auth, 1, from('198.51.100.8'));
    });

    it('counts malformed keys as failures', async () => {
      const store = new FakeKeyStore();
      const { auth } = build(store);
      for (let i = 0; i < AUTH_FAILURE_LIMIT; i++) {
        expect(await resolved(auth.resolve(`junk-${i}`, CLIENT))).toEqual({ kind: 'invalid' });
      }
      expect((await refusal(() => auth.resolve('junk', CLIENT))).code).toBe(
        'too_many_auth_failures',
      );
      expect(store.reads).toBe(0);
    });

    it('never refuses a valid key: served before here, or issued anywhere in the fleet', async () => {
      const store = new FakeKeyStore();
      const redis = new FakeRedis();
      // ttl 0: nothing stays warm, so every request below takes the cold path.
      const { auth } = build(store, 0, [], redis);
      const servedHere = generateApiKey('tenant');
      store.add(servedHere, tenant());
      expect(await resolved(auth.resolve(servedHere, CLIENT))).toMatchObject({ kind: 'tenant' });

      await failTimes(auth, AUTH_FAILURE_LIMIT);
      const issuedElsewhere = generateApiKey('tenant');
      store.add(issuedElsewhere, tenant());
      throttleFor(redis, { config: { auth: { trustedProxies: [] } } }).vouch(
        apiKeyDigestId(issuedElsewhere),
      );
      for (let i = 0; i < 3; i++) {
        expect(await resolved(auth.resolve(servedHere, CLIENT))).toMatchObject({ kind: 'tenant' });
        expect(await resolved(auth.resolve(issuedElsewhere, CLIENT))).toMatchObject({
          kind: 'tenant',
        });
      }
      // A key no replica has ever seen work is refused like any unknown key (not looked up).
      const neverSeen = generateApiKey('tenant');
      store.add(neverSeen, tenant());
      const reads = store.reads;
      expect((await refusal(() => auth.resolve(neverSeen, CLIENT))).code).toBe(
        'too_many_auth_failures',
      );
      expect(store.reads).toBe(reads);
      // …but only for that client: the refusal is not remembered as "unknown key".
      expect(await resolved(auth.resolve(neverSeen, from('198.51.100.9')))).toMatchObject({
        kind: 'tenant',
      });
    });

    it('does not count a valid key’s first lookup as a failure', async () => {
      const store = new FakeKeyStore();
      const { auth } = build(store);
      const keys = Array.from({ length: 30 }, () => generateApiKey('tenant'));
      for (const k of keys) store.add(k, tenant());
      for (const k of keys) await resolved(auth.resolve(k, CLIENT));
      await failTimes(auth, AUTH_FAILURE_LIMIT); // the full 100 still answer 401
      expect((await refusal(() => auth.resolve('nope', CLIENT))).code).toBe(
        'too_many_auth_failures',
      );
    });

    it('gives a true Retry-After: a failure is counted again exactly when it says', async () => {
      jest.useFakeTimers({ now: 1_000_000 });
      const store = new FakeKeyStore();
      const { auth } = build(store);
      await failTimes(auth, AUTH_FAILURE_LIMIT);
      jest.setSystemTime(1_030_000);
      const err = await refusal(() => auth.resolve(generateApiKey('tenant'), CLIENT));
      expect(err.headers['Retry-After']).toBe('30');
      jest.setSystemTime(1_059_999);
      expect((await refusal(() => auth.resolve('nope', CLIENT))).headers['Retry-After']).toBe('1');
      jest.setSystemTime(1_060_000);
      await failTimes(auth, AUTH_FAILURE_LIMIT); // the window has moved past all 100
      expect((await refusal(() => auth.resolve('nope', CLIENT))).code).toBe(
        'too_many_auth_failures',
      );
    });

    it('keeps counting in process while Redis is down, and then looks valid keys up', async () => {
      const store = new FakeKeyStore();
      const redis = new FakeRedis();
      redis.up = false;
      const { auth } = build(store, 0, [], redis);
      await failTimes(auth, AUTH_FAILURE_LIMIT);
      expect((await refusal(() => auth.resolve('nope', CLIENT))).code).toBe(
        'too_many_auth_failures',
      );
      // The fleet's record of valid keys is in Redis: without it, a never-seen key is looked up.
      const fresh = generateApiKey('tenant');
      store.add(fresh, tenant());
      expect(await resolved(auth.resolve(fresh, CLIENT))).toMatchObject({ kind: 'tenant' });
    });

    it('caches unknown keys for a minute, and forgets them when any key may have been issued', async () => {
      jest.useFakeTimers({ now: 1_000_000 });
      const store = new FakeKeyStore();
      const { auth, notifier } = build(store);
      const key = generateApiKey('tenant');
      expect(await resolved(auth.resolve(key, CLIENT))).toEqual({ kind: 'invalid' });
      jest.setSystemTime(1_059_000);
      expect(await resolved(auth.resolve(key, CLIENT))).toEqual({ kind: 'invalid' });
      expect(store.reads).toBe(1);
      store.add(key, tenant());
      notifier.emit(TENANT_ID);
      expect(await resolved(auth.resolve(key, CLIENT))).toMatchObject({ kind: 'tenant' });
      expect(store.reads).toBe(2);
    });
  });
});
