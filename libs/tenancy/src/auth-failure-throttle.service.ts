import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Injectable, Logger } from '@nestjs/common';
import { GatewayConfigService } from '@gateway/config';
import { GatewayError } from '@gateway/errors';
import { RedisService } from '@gateway/redis';
import { BoundedTtlCache } from './bounded-ttl-cache';
import { ClientAddressResolver, clientCountingKey } from './client-address';
import { RedisThrottlerStorage } from './redis-throttler.storage';

/** Failed authentications one client may make per window before its unknown keys are refused. */
export const AUTH_FAILURE_LIMIT = 100;
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Clients remembered as refused in this process (so a flood costs no Redis round trip). */
const HELD_MAX_ENTRIES = 10_000;
/** Keys this process has seen authenticate, and how long it keeps vouching for them. */
const VOUCHED_MAX_ENTRIES = 50_000;
const VOUCHED_TTL_MS = 24 * 60 * 60 * 1000;
/** How long the fleet remembers that a key once authenticated (renewed whenever a replica first sees it). */
const FLEET_MARK_TTL_SECONDS = 30 * 24 * 60 * 60;

/**
 * The failed-authentication throttle (docs/operations.md): after AUTH_FAILURE_LIMIT failures from
 * one client in AUTH_FAILURE_WINDOW_MS, that client's unknown or malformed keys get 429
 * `too_many_auth_failures` without a Postgres lookup, while its valid keys are still served.
 *
 * Counting is `@nestjs/throttler` storage on Redis (RedisThrottlerStorage), shared by every
 * replica. It costs nothing on the hot path: ApiKeyAuthenticator asks only for keys that are not
 * in its cache, and a client found refused is remembered here until its wait ends.
 *
 * "A valid key is never refused" needs to tell a valid key from an unknown one without Postgres.
 * Keys this process has seen authenticate are vouched for in memory; other replicas' knowledge
 * is a per-key mark in Redis, set when a key is issued and when a replica first sees it work.
 */
@Injectable()
export class AuthFailureThrottle {
  private readonly logger = new Logger('AuthThrottle');
  private readonly clients: ClientAddressResolver;
  /** Client → the instant its refusal ends. */
  private readonly held = new BoundedTtlCache<string, number>(
    HELD_MAX_ENTRIES,
    AUTH_FAILURE_WINDOW_MS,
  );
  private readonly vouched = new BoundedTtlCache<string, true>(VOUCHED_MAX_ENTRIES, VOUCHED_TTL_MS);

  constructor(
    config: GatewayConfigService,
    private readonly storage: RedisThrottlerStorage,
    private readonly redis: RedisService,
  ) {
    this.clients = new ClientAddressResolver(config.config.auth.trustedProxies);
  }

  /** The key a request's client is counted under (its address; an IPv6 client's /64). */
  clientOf(req: IncomingMessage): string {
    return clientCountingKey(this.clients.resolve(req));
  }

  /** How much longer this process already knows `client` is refused; 0 when it does not. */
  heldFor(client: string): number {
    const until = this.held.get(client);
    return until === undefined ? 0 : Math.max(0, until - Date.now());
  }

  /** Counts one failure of `client`; resolves to how long it is refused (0: counted, not refused). */
  async count(client: string, hitId = this.storage.nextId()): Promise<number> {
    const hit = await this.storage.hit(
      storageKey(client),
      AUTH_FAILURE_WINDOW_MS,
      AUTH_FAILURE_LIMIT,
      0,
      hitId,
    );
    if (hit.blockedMs > 0) this.hold(client, hit.blockedMs);
    return hit.blockedMs;
  }

  newHitId(): string {
    return this.storage.nextId();
  }

  /** Takes back a failure counted ahead of a lookup that found a valid key. */
  release(client: string, hitId: string): void {
    this.storage.release(storageKey(client), hitId);
  }

  isVouched(digestId: string): boolean {
    return this.vouched.get(digestId) !== undefined;
  }

  /** Remembers that a key authenticates, here and (best effort) fleet-wide. */
  vouch(digestId: string): void {
    this.vouched.set(digestId, true);
    this.redis
      .execute((c) => c.set(this.markKey(digestId), '1', 'EX', FLEET_MARK_TTL_SECONDS))
      .catch((err: unknown) => {
        this.logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'key mark failed',
        );
      });
  }

  /**
   * Whether any replica has seen this key authenticate. When Redis cannot say, true: a valid key
   * is never refused for Redis being down (Postgres then answers for it).
   */
  async knownToFleet(digestId: string): Promise<boolean> {
    try {
      return (await this.redis.execute((c) => c.exists(this.markKey(digestId)))) === 1;
    } catch {
      return true;
    }
  }

  refusal(heldMs: number): GatewayError {
    const seconds = Math.max(1, Math.ceil(heldMs / 1000));
    return new GatewayError(
      'too_many_auth_failures',
      `Too many failed authentications from this address; retry after ${seconds} s.`,
      { headers: { 'Retry-After': String(seconds) } },
    );
  }

  private hold(client: string, heldMs: number): void {
    const until = Date.now() + heldMs;
    if (this.held.get(client) === undefined) {
      this.logger.warn({ client, retryAfterMs: heldMs }, 'refusing unknown keys from a client');
    }
    // The cache's ttl is the window; dating the entry back makes it expire exactly at `until`.
    this.held.set(client, until, until - AUTH_FAILURE_WINDOW_MS);
  }

  /** A hash of the key's digest, so Redis never holds the value Postgres looks keys up by. */
  private markKey(digestId: string): string {
    const mark = createHash('sha256').update('known-key:').update(digestId, 'binary').digest('hex');
    return this.redis.keys.global('auth-known', mark.slice(0, 32));
  }
}

function storageKey(client: string): string {
  return `auth-failures:${client}`;
}
