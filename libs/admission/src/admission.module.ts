import { Global, Module } from '@nestjs/common';
import { TenancyModule, TenantSpendReader } from '@gateway/tenancy';
import { AdmissionSpendReader } from './admission-spend.reader';
import { AdmissionService } from './admission.service';
import { BudgetAlertSender } from './budget-alert.sender';
import { PostgresBudgetStore } from './postgres-budget.store';
import { RedisAdmissionStore } from './redis-admission.store';

/**
 * Admission control: `AdmissionService` is the facade. Global only so that tenancy's admin read
 * receives the `TenantSpendReader` hook without importing this module (which would be a cycle:
 * the reader needs TenantsService for the budget). Needs the app's TypeORM root (DataSource),
 * the global RedisModule, ConfigModule and ObservabilityModule.
 */
@Global()
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
