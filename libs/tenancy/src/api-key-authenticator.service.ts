import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { GatewayConfigService } from '@gateway/config';
import type { AdminContext, TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
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
/** Caps on the in-process caches (STYLE: no unbounded maps); a key entry is a few hundred bytes. */
export const KEY_CACHE_MAX_ENTRIES = 10_000;
export const NEGATIVE_CACHE_MAX_ENTRIES = 10_000;
/** Beyond this many distinct keys being looked up at once, stop coalescing (bounds the map). */
const MAX_PENDING = 1_000;

/**
 * Turns a presented key into a tenant or admin identity. Warm keys cost no Postgres or Redis round
 * trip: results (including "unknown key") are cached in-process by SHA-256, for at most
 * KEY_CACHE_TTL_MS (≤ 1 s) from when Postgres was read, and dropped at once on a tenant-change
 * message. So a revoked key or a disabled tenant is refused everywhere within 1 s even when
 * pub/sub is down.
 */
@Injectable()
export class ApiKeyAuthenticator implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeyAuth');
  private readonly bootstrapHash: Buffer;
  private readonly known: BoundedTtlCache<string, KeyResolution>;
  private readonly unknown: BoundedTtlCache<string, true>;
  private readonly pending = new Map<string, Promise<KeyResolution>>();
  /** Bumped on every invalidation, so a lookup that raced a change does not re-cache old data. */
  private generation = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(
    config: GatewayConfigService,
    private readonly notifier: TenantChangeNotifier,
    @InjectRepository(ApiKeyEntity) private readonly apiKeys: Repository<ApiKeyEntity>,
    @InjectRepository(AdminKeyEntity) private readonly adminKeys: Repository<AdminKeyEntity>,
  ) {
    const { adminApiKey, keyCacheTtlMs } = config.config.auth;
    this.bootstrapHash = hashApiKey(adminApiKey);
    this.known = new BoundedTtlCache(KEY_CACHE_MAX_ENTRIES, keyCacheTtlMs);
    this.unknown = new BoundedTtlCache(NEGATIVE_CACHE_MAX_ENTRIES, keyCacheTtlMs);
  }

  onModuleInit(): void {
    this.unsubscribe = this.notifier.onChange((tenantId) => this.invalidate(tenantId));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /** Synchronous on a warm key (no promise, no I/O); a promise only when Postgres must be read. */
  resolve(key: string): KeyResolution | Promise<KeyResolution> {
    // Cache lookups are keyed by the digest, never the key: timing there reveals nothing usable.
    const id = apiKeyDigestId(key);
    const hit = this.known.get(id);
    if (hit !== undefined) return hit;
    // The bootstrap key is checked before the negative cache, which it could otherwise land in.
    const digest = digestFromId(id);
    if (hashesEqual(digest, this.bootstrapHash)) return BOOTSTRAP;
    if (!isWellFormedKey(key)) return INVALID;
    if (this.unknown.get(id) !== undefined) return INVALID;

    const inflight = this.pending.get(id);
    if (inflight !== undefined) return inflight;
    const lookup = this.load(id, digest, keyScope(key) === 'admin');
    if (this.pending.size < MAX_PENDING) {
      this.pending.set(id, lookup);
      void lookup.finally(() => this.pending.delete(id)).catch(() => undefined);
    }
    return lookup;
  }

  /** Drops cached identities of one tenant, or of everyone with ALL_TENANTS. */
  invalidate(tenantId: string): void {
    this.generation++;
    this.pending.clear();
    if (tenantId === ALL_TENANTS) {
      this.known.clear();
      this.unknown.clear();
      return;
    }
    this.known.deleteWhere((r) => r.kind === 'tenant' && r.tenant.tenantId === tenantId);
  }

  private async load(id: string, hash: Buffer, admin: boolean): Promise<KeyResolution> {
    const generation = this.generation;
    const readAt = Date.now();
    let resolution: KeyResolution;
    try {
      resolution = admin ? await this.loadAdmin(hash) : await this.loadTenant(hash);
    } catch (err) {
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
    if (generation === this.generation) {
      if (resolution.kind === 'invalid') this.unknown.set(id, true, readAt);
      else this.known.set(id, resolution, readAt);
    }
    return resolution;
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
