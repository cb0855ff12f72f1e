import { Module } from '@nestjs/common';
import { GatewayConfigService } from '@gateway/config';
import { TenancyModule, TenantSpendReader } from '@gateway/tenancy';
import { AdmissionModeHandover } from './admission-mode.handover';
import { AdmissionRefusals } from './admission-refusals';
import { AdmissionSpendReader } from './admission-spend.reader';
import { AdmissionTickets } from './admission-tickets';
import { AdmissionService } from './admission.service';
import { AdmissionSettings } from './admission.settings';
import { BudgetAlertDispatcher } from './budget-alert.dispatcher';
import { BudgetAlertSender } from './budget-alert.sender';
import { FallbackAdmission } from './fallback-admission';
import { PostgresBudgetStore } from './postgres-budget.store';
import { RedisAdmissionStore } from './redis-admission.store';
import { ReservationRenewer } from './reservation.renewer';
import { SharedAdmission } from './shared-admission';

/**
 * Admission control: `AdmissionService` is the facade; the other providers are its parts. Also
 * provides tenancy's `TenantSpendReader` hook (tenancy looks it up app-wide, so it never imports
 * this module). Needs the app's TypeORM root (DataSource) and the global Config, Redis and
 * Observability modules.
 */
@Module({
  imports: [TenancyModule],
  providers: [
    {
      provide: AdmissionSettings,
      useFactory: (config: GatewayConfigService) => AdmissionSettings.from(config.config),
      inject: [GatewayConfigService],
    },
    AdmissionService,
    AdmissionTickets,
    AdmissionModeHandover,
    SharedAdmission,
    FallbackAdmission,
    ReservationRenewer,
    AdmissionRefusals,
    BudgetAlertDispatcher,
    RedisAdmissionStore,
    PostgresBudgetStore,
    BudgetAlertSender,
    AdmissionSpendReader,
    { provide: TenantSpendReader, useExisting: AdmissionSpendReader },
  ],
  exports: [AdmissionService, TenantSpendReader],
})
export class AdmissionModule {}
