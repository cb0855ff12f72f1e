import { Injectable } from '@nestjs/common';
import { unitsToDecimalString } from '@gateway/billing';
import type { TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics } from '@gateway/observability';
import { type LimitState, rateLimitHeaders, retryAfterHeaders } from './rate-limit-headers';

/** Retry-After of a 503 when neither Redis nor Postgres can answer for a budget. */
const UNAVAILABLE_RETRY_AFTER_S = 2;

/**
 * The errors admission refuses with, the same whichever mode refused (shared or fallback):
 * message, headers and the refusal metrics in one place.
 */
@Injectable()
export class AdmissionRefusals {
  constructor(private readonly metrics: GatewayMetrics) {}

  /** 429 for requests or tokens: nothing was taken, so the headers say when to come back. */
  rateLimited(
    tenant: TenantContext,
    limit: 'requests' | 'tokens',
    waitMs: number,
    requests: LimitState,
    tokens: LimitState | null,
    tokenDemand = 0,
  ): GatewayError {
    this.metrics.rateLimited.inc({ tenant: tenant.tenantId, limit });
    const wait = retryAfterHeaders(waitMs);
    const headers = { ...rateLimitHeaders(requests, tokens), ...wait };
    if (limit === 'requests') {
      return new GatewayError(
        'rate_limit_exceeded',
        `Rate limit of ${tenant.rateLimit} requests per minute reached. Retry after ${wait['Retry-After']} s.`,
        { headers },
      );
    }
    const tpm = tenant.tokensPerMinute ?? 0;
    const message =
      tokenDemand > tpm
        ? `This request may use up to ${tokenDemand} tokens, more than the limit of ${tpm} tokens per minute; lower max_tokens or shorten the prompt.`
        : `Token rate limit of ${tpm} tokens per minute reached (this request may use up to ${tokenDemand}). Retry after ${wait['Retry-After']} s.`;
    return new GatewayError('tokens_rate_limit_exceeded', message, { headers });
  }

  /** 402: retrying will not help until the month ends or the budget is raised. */
  budgetExceeded(
    tenant: TenantContext,
    worstUnits: number,
    committedUnits: number,
    budgetUnits: number,
    headers: Record<string, string>,
  ): GatewayError {
    this.metrics.budgetRejected.inc({ tenant: tenant.tenantId });
    return new GatewayError(
      'budget_exceeded',
      `Monthly budget of $${unitsToDecimalString(budgetUnits)} cannot cover this request: up to ` +
        `$${unitsToDecimalString(worstUnits)}, with $${unitsToDecimalString(committedUnits)} spent or reserved this month.`,
      { headers: { ...headers, 'x-should-retry': 'false' } },
    );
  }

  /** 503 under BUDGET_FAILURE_POLICY=fail-closed when no store can answer for the budget. */
  budgetUnavailable(headers: Record<string, string>): GatewayError {
    return new GatewayError(
      'dependency_unavailable',
      'The budget cannot be checked right now (Redis and Postgres unavailable). Retry shortly.',
      { headers: { ...headers, 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) } },
    );
  }
}
