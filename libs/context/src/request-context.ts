import type { IncomingMessage } from 'node:http';
import { newStageMarks } from './request-stages';
import type { AdminContext, TenantContext } from './tenant-context';

export type Outcome =
  | 'success'
  | 'cached'
  | 'rate_limited'
  | 'budget_exceeded'
  | 'invalid_request'
  | 'forbidden'
  | 'not_found'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'unavailable'
  /** The client left mid-stream before the provider had finished. */
  | 'client_closed'
  | 'internal_error';

/** `skipped_unconfigured`: the route's provider has no API key, so it was passed over without a call. */
export type AttemptOutcome =
  | 'success'
  | 'timeout'
  | 'error'
  | 'rate_limited'
  | 'rejected'
  | 'skipped_circuit_open'
  | 'skipped_unconfigured';

export interface AttemptRecord {
  provider: string;
  outcome: AttemptOutcome;
  latency_ms: number;
}

/** Who answered a request and what it used: what its record shows and its settlement charges. */
export interface AnswerUsage {
  readonly provider: string;
  readonly providerModel: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Units of 1e-10 USD. */
  readonly costUnits: number;
}

/**
 * What the pipeline learned about a request, filled in as it goes and written as the audit record
 * once the request ends. Costs are integers in units of 1e-10 USD. The router writes its attempts
 * and latency field by field; how a request was answered is set through the methods, so each
 * outcome fills the same fields the same way whichever route answered it.
 */
export class AuditDraft {
  /**
   * The request's id, for lines logged about it by code that holds only the draft (the router's
   * attempts); null for a draft made outside a request (tests).
   */
  constructor(readonly requestId: string | null = null) {}

  model: string | null = null;
  provider: string | null = null;
  providerModel: string | null = null;
  promptTokens = 0;
  completionTokens = 0;
  costUnits = 0;
  costSavedUnits = 0;
  upstreamLatencyMs: number | null = null;
  cached = false;
  attempts: AttemptRecord[] = [];
  outcome: Outcome | null = null;
  /**
   * Set when a request that answered 200 still failed (a stream broken after its first byte):
   * the record's error code, since no error response carries one.
   */
  errorCode: string | null = null;

  /** This request called the provider and pays for the answer. */
  answered(usage: AnswerUsage): void {
    this.outcome = 'success';
    this.use(usage);
    this.costUnits = usage.costUnits;
  }

  /**
   * Answered without a call of its own (a cache hit, or a coalesced leader's answer): nothing is
   * billed, and the record shows what the original call cost as saved.
   */
  answeredFromCache(usage: AnswerUsage): void {
    this.outcome = 'cached';
    this.cached = true;
    this.use(usage);
    this.costUnits = 0;
    this.costSavedUnits = usage.costUnits;
  }

  /**
   * A stream that broke (or lost its client) after its first byte: it answered 200, spent
   * `usage`, and failed all the same.
   */
  interrupted(clientClosed: boolean, usage: AnswerUsage): void {
    this.outcome = clientClosed ? 'client_closed' : 'upstream_error';
    this.errorCode = clientClosed ? null : 'stream_interrupted';
    this.use(usage);
    this.costUnits = usage.costUnits;
  }

  private use(usage: AnswerUsage): void {
    this.provider = usage.provider;
    this.providerModel = usage.providerModel;
    this.promptTokens = usage.promptTokens;
    this.completionTokens = usage.completionTokens;
  }
}

/** Per-request state, attached to the request once by `requestContextMiddleware` (libs/http). */
export interface RequestContext {
  readonly requestId: string;
  /** process.hrtime.bigint() when the request arrived. */
  readonly startedAt: bigint;
  readonly receivedAt: Date;
  tenant: TenantContext | null;
  admin: AdminContext | null;
  /** Set when the tenant route's handler chose the route label for the record (e.g. `/v1/chat/completions`). */
  endpoint: string;
  audit: AuditDraft;
  /** Nanoseconds spent waiting on providers, subtracted to get gateway overhead. */
  upstreamNs: bigint;
  /** Deferred body-parser failure, raised after authentication so the failure is audited. */
  bodyError: unknown;
  /**
   * Deferred refusal of the query string (StrictQueryGuard), raised after authentication and the
   * body error, for the same reason.
   */
  queryError: unknown;
  /**
   * Work that must finish before the response is sent but need not delay the handler (e.g. the
   * budget settlement), awaited together with the audit write so both round trips overlap.
   */
  pending: Array<Promise<unknown>>;
  /**
   * A metered route's state between its lifecycle steps (libs/lifecycle: the plan, then the
   * exchange). A field rather than a WeakMap entry: one per request on the hot path, and weak
   * entries cost the garbage collector extra work on every scavenge.
   */
  metered: unknown;
  /** Stage marks for the debug stage histogram (request-stages.ts); null while it is off. */
  readonly stages: Float64Array | null;
}

const CONTEXT = Symbol.for('llm-gateway.request-context');

// No AsyncLocalStorage: keeping a current context across every await enables Node's promise
// hooks for the whole process, about 10 % of a lone request's CPU here (docs/BENCHMARKS.md). Code
// that logs about a request puts its id on the line itself; the context travels on `req`.

type WithContext = IncomingMessage & { [CONTEXT]?: RequestContext };

export function newAuditDraft(requestId: string | null = null): AuditDraft {
  return new AuditDraft(requestId);
}

/** `endpoint` is the request's path without the query string (the record's default route label). */
export function attachRequestContext(
  req: IncomingMessage,
  requestId: string,
  endpoint: string,
): RequestContext {
  const ctx: RequestContext = {
    requestId,
    startedAt: process.hrtime.bigint(),
    receivedAt: new Date(),
    tenant: null,
    admin: null,
    endpoint,
    audit: newAuditDraft(requestId),
    upstreamNs: 0n,
    bodyError: undefined,
    queryError: undefined,
    pending: [],
    metered: null,
    stages: newStageMarks(),
  };
  (req as WithContext)[CONTEXT] = ctx;
  return ctx;
}

/**
 * The context of a request; throws if `requestContextMiddleware` (libs/http), the first step of
 * both ways in, did not run: a wiring bug.
 */
export function requestContext(req: IncomingMessage): RequestContext {
  const ctx = (req as WithContext)[CONTEXT];
  if (!ctx) throw new Error('request context missing: requestContextMiddleware must run first');
  return ctx;
}

export function maybeRequestContext(req: IncomingMessage): RequestContext | undefined {
  return (req as WithContext)[CONTEXT];
}
