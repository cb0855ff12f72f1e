import { Injectable } from '@nestjs/common';
import { BudgetAlertSender } from './budget-alert.sender';
import type { AlertProfile } from './settle-replay.queue';
import type { UtcMonth } from './utc-month';

/**
 * Turns thresholds claimed by a script (each claimed exactly once across the fleet, in Redis)
 * into alerts for the sender, which delivers them in the background: firing never waits.
 */
@Injectable()
export class BudgetAlertDispatcher {
  constructor(private readonly sender: BudgetAlertSender) {}

  /** Fires each claimed threshold, with the tenant's alert settings as `alert` holds them. */
  fire(
    tenantId: string,
    claimed: readonly string[],
    spendUnits: number,
    alert: AlertProfile,
    month: UtcMonth,
  ): void {
    for (const threshold of claimed) {
      this.sender.send({
        tenantId,
        threshold,
        spendUnits,
        budgetUnits: alert.budgetUnits ?? 0,
        month: month.label,
        url: alert.url,
        secret: alert.secret,
      });
    }
  }
}
