import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { RedisService, withTimeout } from '@gateway/redis';

/** Message meaning "anything may have changed" (admin keys, or a missed message after a reconnect). */
export const ALL_TENANTS = '*';
/**
 * Message meaning "a key was issued" without changing any tenant (an admin key): identities stay
 * cached, only "unknown key" answers are forgotten. Not a UUID, so no tenant can have it as id.
 */
export const KEY_ISSUED = '+key';

export type TenantChangeListener = (tenantId: string) => void;

/**
 * Fleet-wide "tenant X changed" signal on `keys.global('tenant-changes')`. Admin writes publish the
 * tenant id; every instance (this one synchronously, the others via pub/sub) tells its local
 * listeners to drop cached copies. Pub/sub is best effort: caches must also bound how long they
 * trust an entry (the key cache: ≤ KEY_CACHE_TTL_MS), so a lost message costs at most that long.
 */
@Injectable()
export class TenantChangeNotifier implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('TenantChanges');
  private readonly listeners = new Set<TenantChangeListener>();
  readonly channel: string;
  private readonly onMessage = (channel: string, message: string): void => {
    if (channel === this.channel) this.emit(message);
  };
  // After a reconnect, messages published while disconnected are lost: assume everything changed.
  private readonly onReady = (): void => this.emit(ALL_TENANTS);

  constructor(private readonly redis: RedisService) {
    this.channel = redis.keys.global('tenant-changes');
  }

  onModuleInit(): void {
    const sub = this.redis.subscriber();
    sub.on('message', this.onMessage);
    sub.on('ready', this.onReady);
    // Not awaited: boot must not wait for Redis; the subscription completes when it connects.
    sub.subscribe(this.channel).catch((err: unknown) => {
      this.logger.warn({ err: errorMessage(err) }, 'subscribe to tenant changes failed');
    });
  }

  async onModuleDestroy(): Promise<void> {
    const sub = this.redis.subscriber();
    sub.off('message', this.onMessage);
    sub.off('ready', this.onReady);
    this.listeners.clear();
    // Only when connected: the subscriber queues commands while Redis is down, and shutdown must
    // not wait for a Redis that may never come back.
    if (sub.status === 'ready') await withTimeout(sub.unsubscribe(this.channel), 1_000);
  }

  /** Registers a local listener; returns the function that removes it. */
  onChange(listener: TenantChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops local copies now, then tells the fleet. A failed publish is logged, not thrown. */
  async publish(tenantId: string): Promise<void> {
    this.emit(tenantId);
    try {
      await this.redis.client.publish(this.channel, tenantId);
    } catch (err) {
      this.logger.warn({ err: errorMessage(err), tenantId }, 'publish tenant change failed');
    }
  }

  private emit(tenantId: string): void {
    for (const listener of this.listeners) {
      try {
        listener(tenantId);
      } catch (err) {
        this.logger.error({ err, tenantId }, 'tenant change listener failed');
      }
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
