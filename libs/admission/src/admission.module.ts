import { Module } from '@nestjs/common';
import { TenancyModule, TenantSpendReader } from '@gateway/tenancy';
import { AdmissionSpendReader } from './admission-spend.reader';
import { AdmissionService } from './admission.service';
import { BudgetAlertSender } from './budget-alert.sender';
import { PostgresBudgetStore } from './postgres-budget.store';
import { RedisAdmissionStore } from './redis-admission.store';

/**
 * Admission control: `AdmissionService` is the facade. Also provides tenancy's
 * `TenantSpendReader` hook (tenancy looks it up app-wide, so it never imports this module). Needs
 * the app's TypeORM root (DataSource) and the global Config, Redis and Observability modules.
 */
@Module({
  imports: [TenancyModule],
  providers: [
    AdmissionService,
    RedisAdmissionStore,
    PostgresBudgetStore,
    BudgetAlertSender,
    AdmissionSpendReader,
    { provide: TenantSpendReader, useExisting: AdmissionSpendReader },
  ],
  exports: [AdmissionService, TenantSpendReader],
})
export class AdmissionModule {}
