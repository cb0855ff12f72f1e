import type { TenantContext } from '@gateway/context';
import { unitsToDecimalString } from '@gateway/billing';
import type { TenantEntity } from './tenant.entity';

/** The immutable context the guard attaches for one key of a tenant. */
export function toTenantContext(t: TenantEntity, apiKeyId: string): TenantContext {
  return Object.freeze({
    tenantId: t.id,
    apiKeyId,
    name: t.name,
    rateLimit: t.rateLimit,
    tokensPerMinute: t.tokensPerMinute,
    monthlyBudget:
      t.monthlyBudgetUnits === null ? null : unitsToDecimalString(t.monthlyBudgetUnits),
    providerPreferences: Object.freeze([...t.providerPreferences]),
    allowedModels: t.allowedModels === null ? null : Object.freeze([...t.allowedModels]),
    cacheTtlSeconds: t.cacheTtlSeconds,
    alertThresholds: Object.freeze([...t.alertThresholds]),
    alertWebhookUrl: t.alertWebhookUrl,
    alertWebhookSecret: t.alertWebhookSecret,
    version: t.version,
  });
}
