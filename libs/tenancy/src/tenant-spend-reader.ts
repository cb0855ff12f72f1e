/**
 * Hook for the admin tenant read: this month's spend, provided by the admission lib (which owns
 * budgets), so tenancy never imports admission. Absent → the read has no `spend` fields.
 */
export abstract class TenantSpendReader {
  abstract spend(tenantId: string): Promise<{
    spend_usd: number;
    reserved_usd: number;
    remaining_usd: number | null;
  } | null>;
}
