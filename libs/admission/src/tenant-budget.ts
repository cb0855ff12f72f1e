import { usdToUnits } from '@gateway/billing';
import type { TenantContext } from '@gateway/context';
import type { AlertProfile } from './settle-replay.queue';

// A TenantContext is immutable and shared by every request of its key until the key cache reloads
// it: parse its budget once, not per request (weak: gone with the context).
const budgets = new WeakMap<TenantContext, number | null>();

/** The tenant's monthly budget in units, null when unlimited. */
export function budgetOf(tenant: TenantContext): number | null {
  let units = budgets.get(tenant);
  if (units === undefined) {
    units = tenant.monthlyBudget === null ? null : usdToUnits(tenant.monthlyBudget);
    budgets.set(tenant, units);
  }
  return units;
}

/** What an alert fired later (a replay after an outage) needs to know about the tenant. */
export function alertProfile(tenant: TenantContext): AlertProfile {
  return {
    fractions: tenant.alertThresholds,
    budgetUnits: budgetOf(tenant),
    url: tenant.alertWebhookUrl,
    secret: tenant.alertWebhookSecret,
  };
}
