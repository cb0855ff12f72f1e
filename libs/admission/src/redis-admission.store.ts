import { createHash } from 'node:crypto';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { GatewayConfigService } from '@gateway/config';
import { type RedisClient, RedisService } from '@gateway/redis';
import type { ResolvedThreshold } from './alert-thresholds';
import {
  ADMIT_LUA,
  PEEK_LUA,
  REASSERT_LUA,
  RELEASE_LUA,
  RENEW_LUA,
  SETTLE_LUA,
  SPEND_LUA,
} from './admission.scripts';
import { RedisAdmissionClock } from './redis-admission.clock';
import {
  type AdmitParams,
  type AdmitReply,
  admitReply,
  type PeekReply,
  peekReply,
  type Reply,
  type SettleParams,
  type SettleReply,
  settleReply,
} from './redis-admission.replies';
import type { UtcMonth } from './utc-month';

interface LuaScript {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

const SCRIPTS = {
  admit: script(ADMIT_LUA),
  settle: script(SETTLE_LUA),
  release: script(RELEASE_LUA),
  renew: script(RENEW_LUA),
  reassert: script(REASSERT_LUA),
  peek: script(PEEK_LUA),
  spend: script(SPEND_LUA),
};

/** Month bounds that accept any time (replays). */
const ANY_TIME_US = 9e15;

/**
 * Runs the admission scripts (admission.scripts.ts) through RedisService's circuit breaker, one
 * EVALSHA per call (EVAL once after a restart empties the script cache), and keeps an estimate of
 * the offset between this host's clock and Redis's (RedisAdmissionClock).
 */
@Injectable()
export class RedisAdmissionStore implements OnModuleInit {
  private readonly clock = new RedisAdmissionClock();
  private readonly timeoutMs: number;

  constructor(
    private readonly redis: RedisService,
    config: GatewayConfigService,
  ) {
    this.timeoutMs = config.config.redis.commandTimeoutMs;
  }

  /** Redis's clock as best known here (ms). */
  redisNowMs(): number {
    return this.clock.nowMs();
  }

  reqKey(tenantId: string): string {
    return this.redis.keys.tenant(tenantId, 'rl', 'req');
  }

  async admit(p: AdmitParams): Promise<AdmitReply> {
    const keys = [
      this.reqKey(p.tenantId),
      this.redis.keys.tenant(p.tenantId, 'rl', 'tok'),
      this.redis.keys.tenant(p.tenantId, 'rl', 'tokn'),
      this.redis.keys.tenant(p.tenantId, 'bud', p.month.label),
      this.redis.keys.tenant(p.tenantId, 'bud', p.month.label, 'res'),
    ];
    const args: Array<string | number> = [
      p.windowMs * 1000,
      p.limit,
      p.tokensPerWindow ?? -1,
      p.id,
      p.miss ? (p.speculative ? '2' : '1') : '0',
      p.tokenDemand,
      p.worstUnits,
      p.budgetUnits ?? -1,
      p.month.startMs * 1000,
      p.month.endMs * 1000,
      p.month.expireAtMs,
      p.reservationTtlMs * 1000,
      p.initSpendUnits === null ? '' : p.initSpendUnits,
      p.trackBudget ? '1' : '0',
      p.refusalClaim,
      ...thresholdArgs(p.thresholds),
    ];
    return admitReply(await this.run(SCRIPTS.admit, keys, args));
  }

  async settle(p: SettleParams): Promise<SettleReply> {
    const keys = [
      this.redis.keys.tenant(p.tenantId, 'rl', 'tok'),
      this.redis.keys.tenant(p.tenantId, 'rl', 'tokn'),
      this.redis.keys.tenant(p.tenantId, 'bud', p.reservationMonth.label),
      this.redis.keys.tenant(p.tenantId, 'bud', p.reservationMonth.label, 'res'),
      this.redis.keys.tenant(p.tenantId, 'bud', p.month.label),
    ];
    const args: Array<string | number> = [
      p.id,
      p.mode,
      p.tokens ?? -1,
      p.costUnits,
      Math.floor(p.notAfterMs) * 1000,
      p.claim,
      p.liveMonthCheck ? p.month.startMs * 1000 : 0,
      p.liveMonthCheck ? p.month.endMs * 1000 : ANY_TIME_US,
      ...thresholdArgs(p.thresholds),
    ];
    return settleReply(await this.run(SCRIPTS.settle, keys, args));
  }

  /** Makes a reservation taken while Redis was away visible to Redis. */
  async reassert(
    tenantId: string,
    month: UtcMonth,
    id: string,
    units: number,
    expiresAtMs: number,
  ): Promise<'OK' | 'NOKEY' | 'STALE'> {
    const r = await this.run(
      SCRIPTS.reassert,
      [
        this.redis.keys.tenant(tenantId, 'bud', month.label),
        this.redis.keys.tenant(tenantId, 'bud', month.label, 'res'),
      ],
      [id, units, Math.floor(expiresAtMs) * 1000],
    );
    return String(r[0]) as 'OK' | 'NOKEY' | 'STALE';
  }

  async peek(tenantId: string, windowMs: number, tokensLimited: boolean): Promise<PeekReply> {
    const r = await this.run(
      SCRIPTS.peek,
      [
        this.reqKey(tenantId),
        this.redis.keys.tenant(tenantId, 'rl', 'tok'),
        this.redis.keys.tenant(tenantId, 'rl', 'tokn'),
      ],
      [windowMs * 1000, tokensLimited ? '1' : '0'],
      0,
    );
    return peekReply(r);
  }

  /** RELEASE: hands back the tokens and budget of these reservations (one tenant, one month). */
  async release(tenantId: string, month: UtcMonth, ids: readonly string[]): Promise<void> {
    await this.run(
      SCRIPTS.release,
      [
        this.redis.keys.tenant(tenantId, 'rl', 'tokn'),
        this.redis.keys.tenant(tenantId, 'bud', month.label),
        this.redis.keys.tenant(tenantId, 'bud', month.label, 'res'),
      ],
      ids,
      -1,
    );
  }

  /**
   * RENEW: keeps these reservations (one tenant, one month) from expiring for another
   * `lifetimeMs` of Redis time. Returns how many were still held. No deadline: a renewal that
   * reaches Redis late changes nothing a settlement has not already removed.
   */
  async renew(
    tenantId: string,
    month: UtcMonth,
    ids: readonly string[],
    lifetimeMs: number,
  ): Promise<number> {
    const r = await this.run(
      SCRIPTS.renew,
      [
        this.redis.keys.tenant(tenantId, 'bud', month.label),
        this.redis.keys.tenant(tenantId, 'bud', month.label, 'res'),
      ],
      [lifetimeMs * 1000, ...ids],
      1,
      false,
    );
    return Number(r[0]);
  }

  /** This month's spend and live reservations, or null when the month hash does not exist. */
  async spend(
    tenantId: string,
    month: UtcMonth,
  ): Promise<{ spendUnits: number; reservedUnits: number } | null> {
    const r = await this.run(
      SCRIPTS.spend,
      [
        this.redis.keys.tenant(tenantId, 'bud', month.label),
        this.redis.keys.tenant(tenantId, 'bud', month.label, 'res'),
      ],
      [],
      -1,
    );
    return Number(r[0]) === 1 ? { spendUnits: Number(r[1]), reservedUnits: Number(r[2]) } : null;
  }

  /**
   * The script's reply; `nowAt` is the index of Redis's time in it (-1: none) for the clock
   * offset. Scripts with a deadline take it as their first argument (filled in here).
   */
  private async run(
    s: LuaScript,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
    nowAt = 1,
    withDeadline = nowAt === 1,
  ): Promise<Reply> {
    const firstSent = Date.now();
    let windowMs = this.timeoutMs;
    for (;;) {
      const sent = Date.now();
      const sentArgs = withDeadline ? [this.clock.deadlineUs(windowMs), ...args] : args;
      const reply = (await this.redis.execute((c) => evalScript(c, s, keys, sentArgs))) as Reply;
      const received = Date.now();
      if (nowAt >= 0) this.clock.sampleReply(reply[nowAt], sent, received);
      if (reply[0] !== 'STALE') return reply;
      // STALE is an answer: Redis is alive, only slow (starved of CPU, or this gateway read the
      // reply late), or the offset estimate was off after a clock step (the sample above fixed
      // it). The script did nothing, so sending it again is safe: with a window fitted to how
      // late this one was, for as long as the breaker would wait for a reply anyway.
      const left = this.redis.breaker.maxWaitMs - (received - firstSent);
      if (left < this.timeoutMs) return reply;
      windowMs = Math.min(left, Math.max(this.timeoutMs, 2 * (received - sent)));
    }
  }

  /** Learns the clock offset before the first script needs it (best effort: Redis may be down). */
  async onModuleInit(): Promise<void> {
    await this.sampleClock();
  }

  private async sampleClock(): Promise<void> {
    try {
      const sent = Date.now();
      const [sec, micro] = await this.redis.execute((c) => c.time());
      this.clock.sampleTime(sec, micro, sent, Date.now());
    } catch {
      // Unknown until a script answers; deadlines use the local clock with a wider margin.
    }
  }
}

function thresholdArgs(thresholds: readonly ResolvedThreshold[]): Array<string | number> {
  const out: Array<string | number> = [];
  for (const t of thresholds) out.push(t.name, t.units);
  return out;
}

async function evalScript(
  client: RedisClient,
  s: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<unknown> {
  try {
    return await client.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    // After a restart the script cache is empty: send the source once, Redis caches it again.
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
      return client.eval(s.lua, keys.length, ...keys, ...args);
    }
    throw err;
  }
}
