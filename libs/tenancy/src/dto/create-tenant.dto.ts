import {
  AlertThresholdsField,
  AllowedModelsField,
  CacheTtlField,
  MonthlyBudgetField,
  NameField,
  ProviderPreferencesField,
  RateLimitField,
  TokensPerMinuteField,
  WebhookSecretField,
  WebhookUrlField,
} from './tenant-fields';

/** `POST /api/v1/admin/tenants` (docs/api.md §3). */
export class CreateTenantDto {
  @NameField({ required: true, nullable: false })
  name!: string;

  @RateLimitField({ required: true, nullable: false })
  rate_limit!: number;

  @MonthlyBudgetField({ required: true, nullable: true })
  monthly_budget!: number | null;

  @TokensPerMinuteField({ required: false, nullable: true })
  tokens_per_minute?: number | null;

  @ProviderPreferencesField({ required: false, nullable: false })
  provider_preferences?: string[];

  @AllowedModelsField({ required: false, nullable: true })
  allowed_models?: string[] | null;

  @CacheTtlField({ required: false, nullable: true })
  cache_ttl_seconds?: number | null;

  @AlertThresholdsField({ required: false, nullable: false })
  alert_thresholds?: number[];

  @WebhookUrlField({ required: false, nullable: true })
  alert_webhook_url?: string | null;

  @WebhookSecretField({ required: false, nullable: true })
  alert_webhook_secret?: string | null;
}
