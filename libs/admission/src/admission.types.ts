/** What a cache miss may consume, computed by the pipeline before the provider call. */
export interface AdmissionDemand {
  /** A true upper bound on the prompt tokens (AdmissionService.promptTokenUpperBound). */
  readonly promptTokensUpperBound: number;
  /** `max_tokens`, or the model's largest output when absent. */
  readonly maxCompletionTokens: number;
  /** Worst-case cost in units of 1e-10 USD, priced at the model's most expensive route. */
  readonly worstCaseCostUnits: number;
}

/** What a finished request actually used. */
export interface ActualUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Units of 1e-10 USD. */
  readonly costUnits: number;
}

/** An admitted request; hand it back to `settle` exactly once (a second call is a no-op). */
export interface AdmissionTicket {
  /**
   * X-RateLimit-Limit/Remaining/Reset and x-ratelimit-{limit,remaining,reset}-{requests,tokens}
   * (the token trio only when the tenant has tokens_per_minute).
   */
  readonly headers: Readonly<Record<string, string>>;
  /** Requests left in the window, this request counted. */
  readonly rateLimitRemaining: number;
  /** null for a cache hit: nothing reserved, nothing to settle. */
  readonly reservationId: string | null;
  /** `redis`: held in the shared store; `fallback`: held here and in Postgres while Redis was away. */
  readonly mode: 'redis' | 'fallback';
  /** `YYYY-MM` (UTC) the reservation was taken in. */
  readonly month: string;
  /** Budget units reserved (0 when the budget is unlimited or was not tracked). */
  readonly reservedUnits: number;
  /** Tokens counted against tokens_per_minute until settled. */
  readonly reservedTokens: number;
}

/** This UTC month's money for a tenant, in units of 1e-10 USD. */
export interface MonthSpend {
  readonly month: string;
  readonly spendUnits: number;
  readonly reservedUnits: number;
}

/** What `AdmissionService.speculate` made of a miss admitted before its cache lookup answered. */
export type Speculation =
  | { readonly kind: 'admitted'; readonly ticket: AdmissionTicket }
  /** Refused whatever the cache answers (the request limit); the error to throw. */
  | { readonly kind: 'refused'; readonly error: unknown }
  /** A hit and a miss would fare differently, or Redis is away: admit again, knowing which. */
  | { readonly kind: 'undecided' };
