import { Logger } from '@nestjs/common';
import type { Repository } from 'typeorm';
import type { GatewayConfigService } from '@gateway/config';
import { GatewayError } from '@gateway/errors';
import type { AdminKeyEntity } from './admin-key.entity';
import { ApiKeyAuthenticator, type KeyResolution } from './api-key-authenticator.service';
import type { ApiKeyEntity } from './api-key.entity';
import { generateApiKey, hashApiKey } from './api-key';
import { ALL_TENANTS, type TenantChangeListener } from './tenant-change-notifier.service';
import type { TenantChangeNotifier } from './tenant-change-notifier.service';
import type { TenantEntity } from './tenant.entity';

const ADMIN_KEY = 'bootstrap-admin-key-0123456789abcdefghij';
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

function build(store: FakeKeyStore, ttlMs = 800, adminRows: AdminKeyEntity[] = []) {
  const notifier = new LocalNotifier();
  const config = { config: { auth: { adminApiKey: ADMIN_KEY, keyCacheTtlMs: ttlMs } } };
  const adminRepo = {
    findOne: ({ where }: { where: { keyHash: Buffer } }) =>
      Promise.resolve(adminRows.find((r) => r.keyHash.equals(where.keyHash)) ?? null),
  } as unknown as Repository<AdminKeyEntity>;
  const auth = new ApiKeyAuthenticator(
    config as unknown as GatewayConfigService,
    notifier as unknown as TenantChangeNotifier,
    store.repo(),
    adminRepo,
  );
  auth.onModuleInit();
  return { auth, notifier };
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

    const first = await resolved(auth.resolve(key));
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
      const again = auth.resolve(key);
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
    const all = await Promise.all(Array.from({ length: 20 }, () => resolved(auth.resolve(key))));
    expect(new Set(all).size).toBe(1);
    expect(store.reads).toBe(1);
  });

  it('remembers unknown keys so a repeated bad key does not hammer Postgres', async () => {
    const store = new FakeKeyStore();
    const { auth } = build(store);
    const bad = generateApiKey('tenant');
    expect(await resolved(auth.resolve(bad))).toEqual({ kind: 'invalid' });
    for (let i = 0; i < 50; i++) expect(auth.resolve(bad)).toEqual({ kind: 'invalid' });
    expect(store.reads).toBe(1);
  });

  it('refuses malformed keys without any read', async () => {
    const store = new FakeKeyStore();
    const { auth } = build(store);
    for (const bad of ['nope', 'llm-gw-x', `Bearer ${generateApiKey('tenant')}`]) {
      expect(await resolved(auth.resolve(bad))).toEqual({ kind: 'invalid' });
    }
    expect(store.reads).toBe(0);
  });

  it('accepts the bootstrap admin key without a read', () => {
    const store = new FakeKeyStore();
    const { auth } = build(store);
    expect(auth.resolve(ADMIN_KEY)).toEqual({ kind: 'admin', admin: { adminKeyId: 'bootstrap' } });
    expect(auth.resolve(`${ADMIN_KEY}x`)).toEqual({ kind: 'invalid' });
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
    expect(await resolved(auth.resolve(live))).toEqual({
      kind: 'admin',
      admin: { adminKeyId: 'a1' },
    });
    expect(await resolved(auth.resolve(revoked))).toEqual({ kind: 'invalid' });
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
    expect(await resolved(auth.resolve(revoked))).toEqual({ kind: 'invalid' });
    expect(await resolved(auth.resolve(ofDisabled))).toMatchObject({
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
    await resolved(auth.resolve(key));
    await resolved(auth.resolve(other));
    expect(store.reads).toBe(2);

    row.revokedAt = new Date();
    notifier.emit(TENANT_ID);
    expect(await resolved(auth.resolve(key))).toEqual({ kind: 'invalid' });
    expect(auth.resolve(other)).not.toBeInstanceOf(Promise); // other tenants stay warm
    expect(store.reads).toBe(3);
  });

  it('drops everything, unknown keys included, on ALL_TENANTS', async () => {
    const store = new FakeKeyStore();
    const key = generateApiKey('tenant');
    const { auth, notifier } = build(store);
    expect(await resolved(auth.resolve(key))).toEqual({ kind: 'invalid' });
    store.add(key, tenant());
    notifier.emit(ALL_TENANTS);
    expect(await resolved(auth.resolve(key))).toMatchObject({ kind: 'tenant' });
  });

  it('never trusts an entry longer than the ttl, even without any message', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const store = new FakeKeyStore();
    const key = generateApiKey('tenant');
    const row = store.add(key, tenant());
    const { auth } = build(store, 800);
    await resolved(auth.resolve(key));
    row.revokedAt = new Date(); // revoked on another instance; the message is lost
    jest.setSystemTime(1_000_799);
    expect(auth.resolve(key)).toMatchObject({ kind: 'tenant' });
    jest.setSystemTime(1_000_800);
    expect(await resolved(auth.resolve(key))).toEqual({ kind: 'invalid' });
  });

  it('does not cache a lookup that raced a change', async () => {
    const store = new FakeKeyStore();
    const key = generateApiKey('tenant');
    const row = store.add(key, tenant());
    const { auth, notifier } = build(store);
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    const inflight = resolved(auth.resolve(key)); // read the row before the revocation…
    await Promise.resolve();
    row.revokedAt = new Date();
    notifier.emit(TENANT_ID); // …and the change lands while the read is in flight
    release();
    store.gate = null;
    expect(await inflight).toMatchObject({ kind: 'tenant' });
    expect(await resolved(auth.resolve(key))).toEqual({ kind: 'invalid' });
  });

  it('answers 503 dependency_unavailable when Postgres cannot be read', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const failing = new ApiKeyAuthenticator(
      {
        config: { auth: { adminApiKey: ADMIN_KEY, keyCacheTtlMs: 800 } },
      } as unknown as GatewayConfigService,
      new LocalNotifier() as unknown as TenantChangeNotifier,
      {
        findOne: () => Promise.reject(new Error('connection refused')),
      } as unknown as Repository<ApiKeyEntity>,
      {} as Repository<AdminKeyEntity>,
    );
    const err = await resolved(failing.resolve(generateApiKey('tenant'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('dependency_unavailable');
    expect(logged).toHaveBeenCalled();
    logged.mockRestore();
  });
});
