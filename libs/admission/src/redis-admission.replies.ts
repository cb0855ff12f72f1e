/*
 * The admission scripts' wire types (what the store sends, what the scripts answer) and the
 * decoding of a script's raw reply array into them.
 */
import type { ResolvedThreshold } from './alert-thresholds';
import type { UtcMonth } from './utc-month';

export type SettleMode = 'live' | 'unsent' | 'ambiguous';

export interface AdmitParams {
  readonly tenantId: string;
  readonly id: string;
  readonly windowMs: number;
  readonly limit: number;
  /** null: no token limit. */
  readonly tokensPerWindow: number | null;
  readonly miss: boolean;
  /** A miss sent before the cache has answered: a budget refusal takes nothing (`UNDECIDED`). */
  readonly speculative: boolean;
  readonly tokenDemand: number;
  readonly worstUnits: number;
  /** null: unlimited. */
  readonly budgetUnits: number | null;
  readonly month: UtcMonth;
  readonly reservationTtlMs: number;
  /** Spend from Postgres for a missing month hash; null until asked for (REBUILD). */
  readonly initSpendUnits: number | null;
  readonly trackBudget: boolean;
  readonly refusalClaim: string;
  readonly thresholds: readonly ResolvedThreshold[];
}

export type AdmitReply =
  | {
      kind: 'OK';
      count: number;
      oldestUs: number;
      nowUs: number;
      spendUnits: number;
      reservedUnits: number;
      tokensUsed: number;
      tokenOldestUs: number;
    }
  | { kind: 'RATE'; count: number; waitUs: number; nowUs: number }
  | {
      kind: 'TOKENS';
      tokensUsed: number;
      waitUs: number;
      nowUs: number;
      count: number;
      oldestUs: number;
    }
  | {
      kind: 'BUDGET';
      count: number;
      oldestUs: number;
      nowUs: number;
      spendUnits: number;
      reservedUnits: number;
      claimed: string;
    }
  | { kind: 'REBUILD' | 'MONTH' | 'STALE' | 'UNDECIDED'; nowUs: number };

export interface SettleParams {
  readonly tenantId: string;
  readonly id: string;
  readonly mode: SettleMode;
  /** Month the reservation was taken in. */
  readonly reservationMonth: UtcMonth;
  /** Month the spend belongs to (when the request finished). */
  readonly month: UtcMonth;
  /** null: leave the token entry as is. */
  readonly tokens: number | null;
  readonly costUnits: number;
  /** Mode 'unsent': count only if the month hash was built before this Redis time (ms). */
  readonly notAfterMs: number;
  readonly claim: string;
  readonly thresholds: readonly ResolvedThreshold[];
  /**
   * True for a first attempt: Redis must agree that `month` is the current month (else MONTH).
   * Replays name their month explicitly (the outage may have spanned a month's end).
   */
  readonly liveMonthCheck: boolean;
}

export type SettleReply =
  | {
      kind: 'OK';
      nowUs: number;
      spendUnits: number;
      reservedUnits: number;
      applied: boolean;
      claimed: string[];
    }
  | { kind: 'NOKEY' | 'MONTH' | 'STALE'; nowUs: number };

export interface PeekReply {
  nowUs: number;
  count: number;
  oldestUs: number;
  tokensUsed: number;
  tokenOldestUs: number;
}

export type Reply = Array<string | number>;

/** ADMIT_LUA's reply, by its first element (the script's header comment lists them). */
export function admitReply(r: Reply): AdmitReply {
  const kind = String(r[0]);
  const n = (i: number) => Number(r[i]);
  switch (kind) {
    case 'OK':
      return {
        kind,
        nowUs: n(1),
        count: n(2),
        oldestUs: n(3),
        spendUnits: n(4),
        reservedUnits: n(5),
        tokensUsed: n(6),
        tokenOldestUs: n(7),
      };
    case 'RATE':
      return { kind, nowUs: n(1), count: n(2), waitUs: n(3) };
    case 'TOKENS':
      return { kind, nowUs: n(1), tokensUsed: n(2), waitUs: n(3), count: n(4), oldestUs: n(5) };
    case 'BUDGET':
      return {
        kind,
        nowUs: n(1),
        count: n(2),
        oldestUs: n(3),
        spendUnits: n(4),
        reservedUnits: n(5),
        claimed: String(r[6]),
      };
    case 'REBUILD':
    case 'MONTH':
    case 'STALE':
    case 'UNDECIDED':
      return { kind, nowUs: n(1) };
    default:
      throw new Error(`unexpected admit reply ${kind}`);
  }
}

export function settleReply(r: Reply): SettleReply {
  const kind = String(r[0]);
  if (kind === 'OK') {
    return {
      kind,
      nowUs: Number(r[1]),
      spendUnits: Number(r[2]),
      reservedUnits: Number(r[3]),
      applied: Number(r[4]) === 1,
      claimed: r.slice(5).map(String),
    };
  }
  if (kind === 'NOKEY' || kind === 'MONTH' || kind === 'STALE')
    return { kind, nowUs: Number(r[1]) };
  throw new Error(`unexpected settle reply ${kind}`);
}

export function peekReply(r: Reply): PeekReply {
  return {
    nowUs: Number(r[0]),
    count: Number(r[1]),
    oldestUs: Number(r[2]),
    tokensUsed: Number(r[3]),
    tokenOldestUs: Number(r[4]),
  };
}
