import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import Redis, { Cluster } from 'ioredis';
import { GatewayConfigService, redisUrlWithoutDatabase } from '@gateway/config';
import {
  backstopTimeoutMs,
  closeQuietly,
  lagAwareTimeout,
  type RedisClient,
  RedisService,
} from '@gateway/redis';
import { ACQUIRE_LUA, FINISH_LUA, POLL_LUA, RENEW_LUA } from './cache.scripts';
import type { CacheKey } from './cache.types';
import { CoalesceWaiters, type LeaderSignal, type Waiter } from './coalesce-waiters';

export type AcquireMode = 'join' | 'fresh';

export type Acquired =
  | { readonly state: 'hit'; readonly entry: string; readonly value: Buffer }
  | { readonly state: 'leader' | 'follower' | 'solo'; readonly entry: string };

export type Polled =
  { readonly state: 'hit'; readonly value: Buffer } | { readonly state: 'wait' | 'gone' };

type Arg = string | number | Buffer;

/** The script commands defineCommand adds (the *Buffer variants return raw bytes). */
interface ScriptCommands {
  cacheAcquireBuffer(numKeys: number, ...args: Arg[]): Promise<Buffer[]>;
  /** Fixed two keys: no count argument. */
  cacheFinish(...keysAndArgs: Arg[]): Promise<number>;
  cachePollBuffer(...keysAndArgs: Arg[]): Promise<Buffer[]>;
  cacheRenew(...keysAndArgs: Arg[]): Promise<number>;
}

/** In cluster mode, how often the mirrored global generation is re-read in case a message was lost. */
const GLOBAL_GEN_REFRESH_MS = 5_000;
const WARN_EVERY_MS = 10_000;
/**
 * After a failed command the cache is bypassed this long: with a frozen Redis only one request
 * per period pays the command timeout instead of every request.
 */
export const BACKOFF_AFTER_FAILURE_MS = 1_000;

/**
 * The cache's Redis side: its own connections (a separate logical database, or a separate Redis
 * via REDIS_CACHE_URL, so entries never compete with limiter and budget keys for the same
 * keyspace), the key layout, the scripts, and the pub/sub channel that wakes coalesced waiters.
 *
 * Keys (all tenant data under the tenant's hash tag, via RedisKeys):
 *   `<p>{t:<id>}:cache:gen`                 tenant flush generation (no TTL)
 *   `<p>{t:<id>}:cache:e:<G>:<g>:<sha256>`  entry (TTL = tenant cache TTL)
 *   `<p>{t:<id>}:cache:lock:<sha256>`       coalescing lock (a lease renewed by its leader), `…:w` = awaited
 *   `<p>g:cache:gen`                        global flush generation (no TTL)
 * Channels: `<p>g:cache:done` (leader finished), `<p>g:cache:flush-all` (cluster mode only).
 */
@Injectable()
export class CacheStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Cache');
  private readonly client: RedisClient;
  private readonly events: RedisClient;
  private readonly cluster: boolean;
  private readonly waiters = new CoalesceWaiters();
  private readonly globalGenKey: string;
  private readonly doneChannel: string;
  private readonly flushAllChannel: string;
  /** Cluster mode only: the global generation, mirrored because scripts cannot read it cross-slot. */
  private mirroredGlobalGen: string | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private lastWarnAt = 0;
  private backoffUntil = 0;
  private closed = false;
  /** Longest a request waits for an identical one in flight (CACHE_COALESCE_WAIT_MS). */
  readonly maxWaitMs: number;
  /** The lock's lifetime without renewal: how fast a crashed leader is noticed. */
  readonly leaseMs: number;
  private readonly timeoutMs: number;

  constructor(
    config: GatewayConfigService,
    private readonly redis: RedisService,
  ) {
    const { cache, redis: redisCfg } = config.config;
    this.maxWaitMs = cache.coalesceWaitMs;
    // Request-path commands get the lag-aware timeout (timed()); the client's own is a backstop.
    this.timeoutMs = redisCfg.commandTimeoutMs;
    const backstopMs = backstopTimeoutMs(redisCfg.commandTimeoutMs);
    this.leaseMs = Math.min(10_000, Math.max(50, Math.round(cache.coalesceWaitMs / 4)));
    if (cache.redisUrl !== null) {
      // A dedicated cache server: same fail-fast tuning as RedisService's connections.
      const base = {
        connectTimeout: 1_000,
        retryStrategy: (times: number) => Math.min(50 * times, 500),
        db: cache.redisDb,
      };
      // The resolved database wins over one in the URL (ioredis would let the URL's win).
      const url = redisUrlWithoutDatabase(cache.redisUrl);
      this.client = new Redis(url, {
        ...base,
        connectionName: 'llm-gateway:cache',
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: backstopMs,
      });
      this.events = new Redis(url, {
        ...base,
        connectionName: 'llm-gateway:cache-events',
        maxRetriesPerRequest: null,
      });
      for (const c of [this.client, this.events]) {
        c.on('error', (err: Error) => this.warn('cache redis error', err));
      }
    } else {
      this.client = redis.connect('cache', false, cache.redisDb, backstopMs);
      this.events = redis.connect('cache-events', true);
    }
    this.cluster = this.client instanceof Cluster;
    this.globalGenKey = redis.keys.global('cache', 'gen');
    this.doneChannel = redis.keys.global('cache', 'done');
    this.flushAllChannel = redis.keys.global('cache', 'flush-all');
    this.client.defineCommand('cacheAcquire', { lua: ACQUIRE_LUA });
    this.client.defineCommand('cacheFinish', { lua: FINISH_LUA, numberOfKeys: 2 });
    this.client.defineCommand('cachePoll', { lua: POLL_LUA, numberOfKeys: 2 });
    this.client.defineCommand('cacheRenew', { lua: RENEW_LUA, numberOfKeys: 1 });
  }

  onModuleInit(): void {
    this.events.on('message', (channel: string, message: string) =>
      this.onMessage(channel, message),
    );
    const channels = this.cluster ? [this.doneChannel, this.flushAllChannel] : [this.doneChannel];
    // Not awaited: with Redis down at boot the subscription completes when it comes back
    // (ioredis resubscribes after every reconnect); waiters poll meanwhile.
    this.events
      .subscribe(...channels)
      .catch((err: unknown) => this.warn('cache subscribe failed', err));
    if (this.cluster) {
      // The connection is usually not ready yet: load the mirror as soon as (and whenever) it is.
      this.client.on('ready', () => void this.refreshGlobalGen());
      void this.refreshGlobalGen();
      this.refreshTimer = setInterval(() => void this.refreshGlobalGen(), GLOBAL_GEN_REFRESH_MS);
      this.refreshTimer.unref();
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await Promise.all([this.client, this.events].map(closeQuietly));
  }

  /**
   * False when a command could not succeed right now (disconnected, or in cluster mode the global
   * generation is not known yet): callers bypass the cache without waiting for a timeout.
   */
  available(): boolean {
    return (
      this.client.status === 'ready' &&
      (!this.cluster || this.mirroredGlobalGen !== null) &&
      (this.backoffUntil === 0 || Date.now() >= this.backoffUntil)
    );
  }

  /** A request-path command failed: back off for a moment, and say so (rarely). */
  failed(message: string, err: unknown): void {
    this.backoffUntil = Date.now() + BACKOFF_AFTER_FAILURE_MS;
    this.warn(message, err);
  }

  async acquire(key: CacheKey<unknown>, token: string, mode: AcquireMode): Promise<Acquired> {
    const keys = [this.tenantGenKey(key), this.lockKey(key)];
    if (!this.cluster) keys.push(this.globalGenKey);
    const [state, entry, value] = await this.timed(
      this.scripts.cacheAcquireBuffer(
        keys.length,
        ...keys,
        this.entryPrefix(key),
        key.digest,
        this.mirroredGlobalGen ?? '0',
        token,
        this.leaseMs,
        mode,
      ),
    );
    const s = state.toString();
    if (s === 'hit') return { state: 'hit', entry: entry.toString(), value };
    if (s === 'leader' || s === 'follower' || s === 'solo')
      return { state: s, entry: entry.toString() };
    throw new Error(`cache acquire: unexpected state ${s}`);
  }

  /** Stores `value` (unless null), releases the lock if still ours and wakes the waiters. */
  async finish(
    key: CacheKey<unknown>,
    entry: string,
    value: Buffer | null,
    ttlMs: number,
    token: string,
  ): Promise<void> {
    const lock = this.lockKey(key);
    const signal: LeaderSignal = value === null ? 'fail' : 'ok';
    await this.timed(
      this.scripts.cacheFinish(
        lock,
        entry,
        value ?? '',
        ttlMs,
        token,
        this.doneChannel,
        `${signal}\n${lock}`,
      ),
    );
  }

  /** Extends the leader's lease; false once the lock is no longer ours (or we are shutting down). */
  async renew(key: CacheKey<unknown>, token: string): Promise<boolean> {
    if (this.closed) return false;
    return (
      (await this.timed(this.scripts.cacheRenew(this.lockKey(key), token, this.leaseMs))) === 1
    );
  }

  async poll(key: CacheKey<unknown>, entry: string): Promise<Polled> {
    const [state, value] = await this.timed(this.scripts.cachePollBuffer(this.lockKey(key), entry));
    const s = state.toString();
    if (s === 'hit') return { state: 'hit', value };
    return { state: s === 'wait' ? 'wait' : 'gone' };
  }

  async get(entry: string): Promise<Buffer | null> {
    return this.timed(this.client.getBuffer(entry));
  }

  async put(entry: string, value: Buffer, ttlMs: number): Promise<void> {
    await this.timed(this.client.set(entry, value, 'PX', ttlMs));
  }

  /** Registers interest in the lock's outcome; null when the waiter registry is full. */
  watch(key: CacheKey<unknown>): Waiter | null {
    return this.waiters.register(this.lockKey(key));
  }

  /** O(1): the tenant's old entries are never read again and expire by TTL. */
  async bumpTenant(tenantId: string): Promise<void> {
    await this.client.incr(this.redis.keys.tenant(tenantId, 'cache', 'gen'));
  }

  async bumpAll(): Promise<void> {
    const gen = await this.client.incr(this.globalGenKey);
    if (this.cluster) {
      this.mirroredGlobalGen = String(gen);
      await this.client.publish(this.flushAllChannel, String(gen));
    }
  }

  /** A request-path command under the lag-aware timeout (libs/redis lagAwareTimeout). */
  private timed<T>(command: Promise<T>): Promise<T> {
    return lagAwareTimeout(command, this.timeoutMs);
  }

  /** Logs Redis trouble at most every 10 s: during an outage every request would otherwise log. */
  warn(message: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarnAt < WARN_EVERY_MS) return;
    this.lastWarnAt = now;
    this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, message);
  }

  private get scripts(): ScriptCommands {
    return this.client as unknown as ScriptCommands;
  }

  private tenantGenKey(key: CacheKey<unknown>): string {
    return this.redis.keys.tenant(key.tenantId, 'cache', 'gen');
  }

  private lockKey(key: CacheKey<unknown>): string {
    return this.redis.keys.tenant(key.tenantId, 'cache', 'lock', key.digest);
  }

  private entryPrefix(key: CacheKey<unknown>): string {
    return `${this.redis.keys.tenant(key.tenantId, 'cache', 'e')}:`;
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.doneChannel) {
      const cut = message.indexOf('\n');
      const signal = message.slice(0, cut);
      if (cut > 0 && (signal === 'ok' || signal === 'fail')) {
        this.waiters.deliver(message.slice(cut + 1), signal);
      }
    } else if (channel === this.flushAllChannel && /^\d+$/.test(message)) {
      this.raiseGlobalGen(message);
    }
  }

  private async refreshGlobalGen(): Promise<void> {
    try {
      this.raiseGlobalGen((await this.client.get(this.globalGenKey)) ?? '0');
    } catch (err) {
      this.warn('cache generation refresh failed', err);
    }
  }

  /** Generations only grow: a late message or read never moves the mirror backwards. */
  private raiseGlobalGen(value: string): void {
    if (this.mirroredGlobalGen === null || Number(value) > Number(this.mirroredGlobalGen)) {
      this.mirroredGlobalGen = value;
    }
  }
}
