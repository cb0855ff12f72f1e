import { unitsToUsd } from '@gateway/billing';
import type { TenantResponseDto } from './dto/tenant.response.dto';
import type { TenantEntity } from './tenant.entity';

/** The admin API's JSON for a tenant: USD numbers, ISO instants, no secrets. */
export function toTenantView(t: TenantEntity): TenantResponseDto {
  return {
    tenant_id: t.id,
    name: t.name,
    rate_limit: t.rateLimit,
    tokens_per_minute: t.tokensPerMinute,
    monthly_budget: t.monthlyBudgetUnits === null ? null : unitsToUsd(t.monthlyBudgetUnits),
    provider_preferences: t.providerPreferences,
    allowed_models: t.allowedModels,
    cache_ttl_seconds: t.cacheTtlSeconds,
    alert_thresholds: t.alertThresholds,
    alert_webhook_url: t.alertWebhookUrl,
    alert_webhook_secret_set: t.alertWebhookSecret !== null,
    disabled: t.disabledAt !== null,
    disabled_at: t.disabledAt?.toISOString() ?? null,
    version: t.version,
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
  };
}
