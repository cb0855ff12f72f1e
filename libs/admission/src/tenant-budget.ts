import { usdToUnits } from '@gateway/billing';
import type { TenantContext } from '@gateway/context';
import type { AlertProfile } from './settle-replay.queue';

/** The tenant's monthly budget in units, null when unlimited. */
export function budgetOf(tenant: TenantContext): number | null {
  return tenant.monthlyBudget === null ? null : usdToUnits(tenant.monthlyBudget);
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
