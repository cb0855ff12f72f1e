import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { RedisService } from '@gateway/redis';
import { ProviderRegistry } from '../provider-registry.service';
import type { CircuitSnapshot } from './circuit-breaker';

/** How often each instance reads the fleet's breaker states. */
const PULL_INTERVAL_MS = 1_000;
/** A shared state outlives any ejection by far, and expires once nobody has touched it. */
const STATE_TTL_MS = 10 * 60_000;
const BOOT_WAIT_MS = 1_000;

/**
 * Shares breaker transitions through Redis (`keys.global('circuit', provider)`), off the hot
 * path: a local transition is written fire-and-forget; the fleet's states are read every second
 * and once at boot, so a new instance starts with the fleet's view. When Redis is down nothing
 * waits: each instance keeps its own breakers.
 */
@Injectable()
export class CircuitSyncService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Providers');
  private timer: NodeJS.Timeout | null = null;
  private readonly names: string[] = [];

  constructor(
    private readonly registry: ProviderRegistry,
    @Optional() private readonly redis?: RedisService,
  ) {}

  onModuleInit(): void {
    for (const r of this.registry.all())
      if (r.config.type !== 'mock') this.names.push(r.config.name);
    if (!this.redis || this.names.length === 0) return;
    this.registry.onLocalTransition((provider, snapshot) => this.push(provider, snapshot));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.redis || this.names.length === 0) return;
    // Boot, not a request: worth a short, bounded wait for the connection to get the fleet's view.
    await whenReady(this.redis, BOOT_WAIT_MS);
    await this.pull();
    this.timer = setInterval(() => void this.pull(), PULL_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Reads every provider's shared state and adopts the newer ones. Never throws. */
  async pull(): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    // One GET per provider: global keys have no common hash tag, so no MGET in cluster mode.
    await Promise.all(
      this.names.map(async (provider) => {
        try {
          const raw = await redis.client.get(redis.keys.global('circuit', provider));
          const snapshot = raw === null ? null : parseSnapshot(raw);
          if (snapshot) this.registry.adopt(provider, snapshot);
        } catch (err) {
          this.logger.debug({ provider, err: (err as Error).message }, 'circuit pull failed');
        }
      }),
    );
  }

  private push(provider: string, snapshot: CircuitSnapshot): void {
    const redis = this.redis;
    if (!redis) return;
    redis.client
      .set(redis.keys.global('circuit', provider), JSON.stringify(snapshot), 'PX', STATE_TTL_MS)
      .catch((err: Error) =>
        this.logger.debug({ provider, err: err.message }, 'circuit push failed'),
      );
  }
}

function whenReady(redis: RedisService, timeoutMs: number): Promise<void> {
  const client = redis.client;
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    client.once('ready', done);
  });
}

function parseSnapshot(raw: string): CircuitSnapshot | null {
  try {
    const v = JSON.parse(raw) as Partial<CircuitSnapshot>;
    if (
      (v.state === 'open' || v.state === 'closed') &&
      typeof v.until === 'number' &&
      typeof v.trips === 'number' &&
      typeof v.at === 'number'
    ) {
      return { state: v.state, until: v.until, trips: v.trips, at: v.at };
    }
  } catch {
    // A foreign or corrupt value: ignore it, the next local transition overwrites it.
  }
  return null;
}
