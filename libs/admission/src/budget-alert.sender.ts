import { createHmac } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Agent, type Dispatcher, request } from 'undici';
import { unitsToUsd } from '@gateway/billing';
import { GatewayConfigService } from '@gateway/config';
import { GatewayMetrics } from '@gateway/observability';
import { publicOnlyLookup, webhookUrlProblem } from '@gateway/tenancy';

/** A threshold crossing, claimed exactly once across the fleet before it gets here. */
export interface BudgetAlert {
  readonly tenantId: string;
  /** The fraction as configured (`0.8`). */
  readonly threshold: string;
  readonly spendUnits: number;
  readonly budgetUnits: number;
  /** `YYYY-MM` (UTC). */
  readonly month: string;
  readonly url: string | null;
  readonly secret: string | null;
}

/** Retries after 1, 2, 4, 8, 16 and 32 s (±20 %): about a minute of receiver trouble is absorbed. */
const RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000];
const ATTEMPT_TIMEOUT_MS = 5_000;
/** Deliveries in progress (including waits between retries); beyond it new alerts are dropped. */
const MAX_PENDING = 1_000;

/**
 * Delivers budget alerts (docs/api.md §7, §9): `POST` of `{tenant_id, threshold, spend, budget,
 * month}` signed with `X-Gateway-Signature: sha256=<hex HMAC-SHA256 of the body>` using the
 * tenant's alert_webhook_secret. Entirely in the background: a request that crosses a threshold
 * never waits for the webhook. Every outcome is logged and counted in
 * llm_gateway_budget_alerts_total{result}: sent, failed (gave up), refused (target not allowed),
 * dropped (too many pending), no_webhook (the tenant has no URL: the log line is the alert).
 */
@Injectable()
export class BudgetAlertSender implements OnModuleDestroy {
  private readonly logger = new Logger('BudgetAlerts');
  private readonly allowPrivate: boolean;
  private readonly dispatcher: Dispatcher;
  private readonly timers = new Set<NodeJS.Timeout>();
  private pending = 0;
  private stopped = false;

  constructor(
    config: GatewayConfigService,
    private readonly metrics: GatewayMetrics,
  ) {
    this.allowPrivate = config.config.admission.alertWebhookAllowPrivate;
    this.dispatcher = new Agent({
      connect: this.allowPrivate ? {} : { lookup: publicOnlyLookup },
      headersTimeout: ATTEMPT_TIMEOUT_MS,
      bodyTimeout: ATTEMPT_TIMEOUT_MS,
    });
  }

  send(alert: BudgetAlert): void {
    const spend = unitsToUsd(alert.spendUnits);
    const budget = unitsToUsd(alert.budgetUnits);
    this.logger.log(
      { tenant: alert.tenantId, threshold: alert.threshold, spend, budget, month: alert.month },
      'budget alert threshold reached',
    );
    if (!alert.url) return this.count(alert, 'no_webhook');
    const problem = webhookUrlProblem(alert.url, this.allowPrivate);
    if (problem) {
      this.logger.warn({ tenant: alert.tenantId, problem }, 'budget alert webhook refused');
      return this.count(alert, 'refused');
    }
    if (this.stopped || this.pending >= MAX_PENDING) {
      this.logger.warn({ tenant: alert.tenantId, pending: this.pending }, 'budget alert dropped');
      return this.count(alert, 'dropped');
    }
    const body = JSON.stringify({
      tenant_id: alert.tenantId,
      threshold: Number(alert.threshold),
      spend,
      budget,
      month: alert.month,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'llm-gateway-budget-alerts',
      'x-gateway-event': 'budget.threshold',
    };
    if (alert.secret) {
      headers['x-gateway-signature'] =
        `sha256=${createHmac('sha256', alert.secret).update(body).digest('hex')}`;
    }
    this.pending += 1;
    void this.attempt(alert, alert.url, body, headers, 0);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.pending > 0)
      this.logger.warn({ pending: this.pending }, 'budget alerts undelivered at shutdown');
    await this.dispatcher.close().catch(() => undefined);
  }

  private async attempt(
    alert: BudgetAlert,
    url: string,
    body: string,
    headers: Record<string, string>,
    n: number,
  ): Promise<void> {
    let retry = true;
    let detail: string;
    try {
      const res = await request(url, {
        method: 'POST',
        body,
        headers,
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      await res.body.dump().catch(() => undefined);
      if (res.statusCode >= 200 && res.statusCode < 300) return this.finish(alert, 'sent');
      detail = `HTTP ${res.statusCode}`;
      retry = res.statusCode >= 500 || [408, 425, 429].includes(res.statusCode);
    } catch (err) {
      const code =
        (err as NodeJS.ErrnoException).code ??
        (err as { cause?: NodeJS.ErrnoException }).cause?.code;
      if (code === 'EWEBHOOKPRIVATE') {
        this.logger.warn(
          { tenant: alert.tenantId },
          'budget alert webhook resolves to a private address',
        );
        return this.finish(alert, 'refused');
      }
      detail = (err as Error).message;
    }
    if (!retry || n >= RETRY_DELAYS_MS.length || this.stopped) {
      this.logger.warn(
        { tenant: alert.tenantId, threshold: alert.threshold, attempts: n + 1, detail },
        'budget alert delivery failed',
      );
      return this.finish(alert, 'failed');
    }
    const delay = RETRY_DELAYS_MS[n] * (0.8 + Math.random() * 0.4);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(alert, url, body, headers, n + 1);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private finish(alert: BudgetAlert, result: 'sent' | 'failed' | 'refused'): void {
    this.pending -= 1;
    this.count(alert, result);
  }

  private count(alert: BudgetAlert, result: string): void {
    this.metrics.alertsSent.inc({ tenant: alert.tenantId, threshold: alert.threshold, result });
  }
}
