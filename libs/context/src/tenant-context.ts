/**
 * The authenticated tenant, resolved once by the auth guard from the API key and passed explicitly
 * as the first argument of every facade call. Immutable.
 */
export interface TenantContext {
  readonly tenantId: string;
  readonly apiKeyId: string;
  readonly name: string;
  /** Requests per 60 s sliding window. */
  readonly rateLimit: number;
  /** Prompt + completion tokens per 60 s, or null for no token limit. */
  readonly tokensPerMinute: number | null;
  /** USD per UTC calendar month as an exact decimal string, or null for unlimited. */
  readonly monthlyBudget: string | null;
  readonly providerPreferences: readonly string[];
  /** Model aliases the tenant may use; null means all. */
  readonly allowedModels: readonly string[] | null;
  readonly cacheTtlSeconds: number | null;
  readonly alertThresholds: readonly number[];
  readonly alertWebhookUrl: string | null;
  readonly alertWebhookSecret: string | null;
  /** Bumped on every admin change; lets caches notice a stale copy. */
  readonly version: number;
}

export interface AdminContext {
  /** `bootstrap` for ADMIN_API_KEY, else the admin key's id. */
  readonly adminKeyId: string;
}
