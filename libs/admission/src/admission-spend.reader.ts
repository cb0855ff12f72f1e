import { Injectable } from '@nestjs/common';
import { unitsToUsd } from '@gateway/billing';
import { TenantSpendReader, TenantsService } from '@gateway/tenancy';
import { AdmissionService } from './admission.service';

/**
 * This UTC month's spend for GET /api/v1/admin/tenants/{id}: `remaining_usd` is what new requests
 * can still reserve (budget − spend − in-flight reservations, never below 0), null when the budget
 * is unlimited; null altogether when neither Redis nor Postgres can answer.
 */
@Injectable()
export class AdmissionSpendReader extends TenantSpendReader {
  constructor(
    private readonly admission: AdmissionService,
    private readonly tenants: TenantsService,
  ) {
    super();
  }

  async spend(
    tenantId: string,
  ): Promise<{ spend_usd: number; reserved_usd: number; remaining_usd: number | null } | null> {
    const [tenant, month] = await Promise.all([
      this.tenants.requireTenant(tenantId),
      this.admission.monthSpend(tenantId),
    ]);
    if (!month) return null;
    const budget = tenant.monthlyBudgetUnits;
    return {
      spend_usd: unitsToUsd(month.spendUnits),
      reserved_usd: unitsToUsd(month.reservedUnits),
      remaining_usd:
        budget === null
          ? null
          : unitsToUsd(Math.max(0, budget - month.spendUnits - month.reservedUnits)),
    };
  }
}
