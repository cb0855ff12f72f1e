import type { IncomingMessage } from 'node:http';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { GatewayConfigService } from '@gateway/config';
import type { AdminContext, TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics } from '@gateway/observability';
import { AdminKeyEntity } from './admin-key.entity';
import { ApiKeyEntity } from './api-key.entity';
import {
  apiKeyDigestId,
  digestFromId,
  hashApiKey,
  hashesEqual,
  isWellFormedKey,
  keyScope,
} from './api-key';
import { AuthFailureThrottle } from './auth-failure-throttle.service';
import { BoundedTtlCache } from './bounded-ttl-cache';
import { ALL_TENANTS, TenantChangeNotifier } from './tenant-change-notifier.service';
import { toTenantContext } from './tenant-context.mapper';

export type KeyResolution =
  | { readonly kind: 'tenant'; readonly tenant: TenantContext; readonly disabled: boolean }
  | { readonly kind: 'admin'; readonly admin: AdminContext }
  | { readonly kind: 'invalid' };

const INVALID: KeyResolution = Object.freeze({ kind: 'invalid' });
const BOOTSTRAP: KeyResolution = Object.freeze({
  kind: 'admin',
  admin: Object.freeze({ adminKeyId: 'bootstrap' }),
});
/** Caps on the in-process caches; a key entry is a few hundred bytes. */
export const KEY_CACHE_MAX_ENTRIES = 10_000;
export const NEGATIVE_CACHE_MAX_ENTRIES = 10_000;
/**
 * How long "no such key" is trusted. Longer than the positive ttl because it can only go stale
 * one way, by a key being issued, and issuing a key clears it on every instance (tenant-change
 * message); a lost message costs at most this long for a key presented before it existed.
 */
export const NEGATIVE_CACHE_TTL_MS = 60_000;
/** Beyond this many distinct keys being looked up at once, stop coalescing (bounds the map). */
const MAX_PENDING = 1_000;
/**
 * How long the last answer Postgres gave for a valid key is kept, to be served only while Postgres
 * cannot answer (stale-if-error). Revocations and tenant changes still drop it at once (tenant-change
 * message); what this bounds is a change made elsewhere whose message this instance missed *and*
 * never re-read before the outage (docs/api.md §11, dependencies that hang).
 */
export const STALE_KEY_MAX_AGE_MS = 60 * 60_000;
/** Cap on the last-known answers kept (the same order as the fresh cache; a few hundred bytes each). */
export const STALE_KEY_MAX_ENTRIES = 10_000;
/**
 * After a lookup failed, for this long keys with a last-known answer are served from it at once,
 * instead of each waiting out Postgres's deadlines again; each failure (including the probes
 * below) extends it, a successful lookup ends it.
 */
const OUTAGE_HOLD_MS = 5_000;
/** During an outage, at most one background lookup this often checks whether Postgres is back. */
const OUTAGE_PROBE_INTERVAL_MS = 500;

/**
 * Turns a presented key into a tenant or admin identity. Warm keys cost no Postgres or Redis round
 * trip: identities are cached in-process by SHA-256, for at most KEY_CACHE_TTL_MS (≤ 1 s) from
 * when Postgres was read, and dropped at once on a tenant-change message. So a revoked key or a
 * disabled tenant is refused everywhere within 1 s even when pub/sub is down. "Unknown key" is
 * cached longer (NEGATIVE_CACHE_TTL_MS), and keys that are not known to be valid go through the
 * failed-authentication throttle (AuthFailureThrottle) before they may cost a Postgres lookup.
 *
 * When Postgres cannot answer, a key it vouched for in the last STALE_KEY_MAX_AGE_MS keeps its last
 * answer (stale-if-error), so the tenants already using the gateway are served through an outage
 * while their records go to the audit spool; a key never seen (or dropped by a change message since)
 * is 503 until Postgres answers, since serving an unverified key could serve a revoked one.
 */
@Injectable()
export class ApiKeyAuthenticator implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeyAuth');
  private readonly bootstrapHash: Buffer;
  private readonly known: BoundedTtlCache<string, KeyResolution>;
  private readonly unknown: BoundedTtlCache<string, true>;
  /** Last answer Postgres gave for each valid key; read only when Postgres cannot answer. */
  private readonly lastKnown: BoundedTtlCache<string, KeyResolution>;
  /** Until when a lookup failure is recent (epoch ms): stale answers are served without waiting. */
  private outageUntil = 0;
  private nextProbeAt = 0;
  private readonly pending = new Map<string, Promise<KeyResolution>>();
  /** Bumped on every invalidation, so a lookup that raced a change does not re-cache old data. */
  private generation = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(
    config: GatewayConfigService,
    private readonly notifier: TenantChangeNotifier,
    private readonly throttle: AuthFailureThrottle,
    @InjectRepository(ApiKeyEntity) private readonly apiKeys: Repository<ApiKeyEntity>,
    @InjectRepository(AdminKeyEntity) private readonly adminKeys: Repository<AdminKeyEntity>,
    private readonly metrics: GatewayMetrics,
  ) {
    const { adminApiKey, keyCacheTtlMs } = config.config.auth;
    this.bootstrapHash = hashApiKey(adminApiKey);
    this.known = new BoundedTtlCache(KEY_CACHE_MAX_ENTRIES, keyCacheTtlMs);
    this.unknown = new BoundedTtlCache(NEGATIVE_CACHE_MAX_ENTRIES, NEGATIVE_CACHE_TTL_MS);
    this.lastKnown = new BoundedTtlCache(STALE_KEY_MAX_ENTRIES, STALE_KEY_MAX_AGE_MS);
  }

  onModuleInit(): void {
    this.unsubscribe = this.notifier.onChange((tenantId) => this.invalidate(tenantId));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /**
   * Synchronous on a warm key (no promise, no I/O); a promise only when Postgres (or, for a key
   * this process cannot vouch for, the failed-authentication count) must be consulted. Throws or
   * rejects with 429 `too_many_auth_failures` for an unknown key from a client over its limit.
   */
  resolve(key: string, req: IncomingMessage): KeyResolution | Promise<KeyResolution> {
    // Cache lookups are keyed by the digest, never the key: timing there reveals nothing usable.
    const id = apiKeyDigestId(key);
    const hit = this.known.get(id);
    if (hit !== undefined) return hit;
    // The bootstrap key is checked before the negative cache, which it could otherwise land in.
    const digest = digestFromId(id);
    if (hashesEqual(digest, this.bootstrapHash)) return BOOTSTRAP;
    if (this.outageUntil > Date.now()) {
      const stale = this.lastKnown.get(id);
      if (stale !== undefined) {
        this.probe(id, digest, keyScope(key) === 'admin');
        return this.servedStale(stale);
      }
    }

    // Not known to be valid: from here on the failed-authentication throttle applies.
    const client = this.throttle.clientOf(req);
    if (!isWellFormedKey(key) || this.unknown.get(id) !== undefined) return this.failed(client);
    const admin = keyScope(key) === 'admin';
    if (this.throttle.isVouched(id)) {
      return this.lookup(id, digest, admin).then((r) =>
        r.kind === 'invalid' ? this.failed(client) : r,
      );
    }
    return this.gatedLookup(id, digest, admin, client);
  }

  /**
   * A key neither cached nor vouched for: counted as a failure *before* its lookup (one Redis
   * round trip), so however many replicas and connections a client spreads over, it gets no more
   * Postgres lookups than the limit allows. A key that turns out valid takes its count back.
   */
  private async gatedLookup(
    id: string,
    digest: Buffer,
    admin: boolean,
    client: string,
  ): Promise<KeyResolution> {
    let heldMs = this.throttle.heldFor(client);
    let hitId: string | null = null;
    if (heldMs === 0) {
      hitId = this.throttle.newHitId();
      heldMs = await this.throttle.count(client, hitId);
    }
    if (heldMs > 0) {
      hitId = null; // refused hits are not counted, so there is nothing to take back
      // Not put in the negative cache: it was never looked up, and other clients may present it.
      if (!(await this.throttle.knownToFleet(id))) throw this.throttle.refusal(heldMs);
    }
    let resolution: KeyResolution;
    try {
      resolution = await this.lookup(id, digest, admin);
    } catch (err) {
      // Postgres could not say: nothing failed to authenticate, so the count is given back.
      if (hitId !== null) this.throttle.release(client, hitId);
      throw err;
    }
    if (resolution.kind !== 'invalid') {
      if (hitId !== null) this.throttle.release(client, hitId);
      this.throttle.vouch(id);
    }
    return resolution;
  }

  /** An unknown or malformed key: refused with 429 when the client is over its limit, else 401. */
  private failed(client: string): KeyResolution | Promise<KeyResolution> {
    const heldMs = this.throttle.heldFor(client);
    if (heldMs > 0) throw this.throttle.refusal(heldMs);
    return this.throttle.count(client).then((ms) => {
      if (ms > 0) throw this.throttle.refusal(ms);
      return INVALID;
    });
  }

  /** One Postgres read per key however many requests present it at once. */
  private lookup(id: string, digest: Buffer, admin: boolean): Promise<KeyResolution> {
    const inflight = this.pending.get(id);
    if (inflight !== undefined) return inflight;
    const lookup = this.load(id, digest, admin);
    if (this.pending.size < MAX_PENDING) {
      this.pending.set(id, lookup);
      void lookup.finally(() => this.pending.delete(id)).catch(() => undefined);
    }
    return lookup;
  }

  /** While stale answers are being served: one lookup now and then to see whether Postgres is back. */
  private probe(id: string, digest: Buffer, admin: boolean): void {
    const now = Date.now();
    if (now < this.nextProbeAt || this.pending.has(id)) return;
    this.nextProbeAt = now + OUTAGE_PROBE_INTERVAL_MS;
    // Its answer (or failure) lands in the caches; nobody waits for it.
    this.lookup(id, digest, admin).catch(() => undefined);
  }

  /**
   * Drops cached identities of one tenant, or of everyone with ALL_TENANTS; any message (KEY_ISSUED
   * included) also drops every "unknown key" answer. Last-known answers go with them, so a revoked
   * key or a disabled tenant is not served from them even while Postgres is down.
   */
  invalidate(tenantId: string): void {
    this.generation++;
    this.pending.clear();
    // Any change may be a key being issued: forget every "unknown" answer (changes are rare).
    this.unknown.clear();
    if (tenantId === ALL_TENANTS) {
      this.known.clear();
      this.lastKnown.clear();
      return;
    }
    const ofTenant = (r: KeyResolution) => r.kind === 'tenant' && r.tenant.tenantId === tenantId;
    this.known.deleteWhere(ofTenant);
    this.lastKnown.deleteWhere(ofTenant);
  }

  private async load(id: string, hash: Buffer, admin: boolean): Promise<KeyResolution> {
    const generation = this.generation;
    const readAt = Date.now();
    let resolution: KeyResolution;
    try {
      resolution = admin ? await this.loadAdmin(hash) : await this.loadTenant(hash);
    } catch (err) {
      this.outageUntil = Date.now() + OUTAGE_HOLD_MS;
      const stale = generation === this.generation ? this.lastKnown.get(id) : undefined;
      if (stale !== undefined) {
        this.logger.warn({ err }, 'key lookup failed: serving its last known answer');
        return this.servedStale(stale);
      }
      this.logger.error({ err }, 'key lookup failed');
      throw new GatewayError(
        'dependency_unavailable',
        'Authentication is temporarily unavailable.',
        {
          headers: { 'Retry-After': '1' },
          cause: err,
        },
      );
    }
    this.outageUntil = 0;
    if (generation === this.generation) {
      if (resolution.kind === 'invalid') {
        this.unknown.set(id, true, readAt);
        this.lastKnown.delete(id);
      } else {
        this.known.set(id, resolution, readAt);
        this.lastKnown.set(id, resolution, readAt);
      }
    } else {
      // Raced a change: whatever was remembered for this key may be what the change revoked.
      this.lastKnown.delete(id);
    }
    return resolution;
  }

  /** Counts a request authenticated from a last known answer (`llm_gateway_auth_last_known_total`). */
  private servedStale(stale: KeyResolution): KeyResolution {
    this.metrics.authLastKnown.inc({ scope: stale.kind === 'admin' ? 'admin' : 'tenant' });
    return stale;
  }

  private async loadTenant(hash: Buffer): Promise<KeyResolution> {
    const row = await this.apiKeys.findOne({
      where: { keyHash: hash },
      relations: { tenant: true },
    });
    if (!row?.tenant || row.revokedAt !== null || !hashesEqual(row.keyHash, hash)) return INVALID;
    return Object.freeze({
      kind: 'tenant',
      tenant: toTenantContext(row.tenant, row.id),
      disabled: row.tenant.disabledAt !== null,
    });
  }

  private async loadAdmin(hash: Buffer): Promise<KeyResolution> {
    const row = await this.adminKeys.findOne({ where: { keyHash: hash } });
    if (!row || row.revokedAt !== null || !hashesEqual(row.keyHash, hash)) return INVALID;
    return Object.freeze({ kind: 'admin', admin: Object.freeze({ adminKeyId: row.id }) });
  }
}
