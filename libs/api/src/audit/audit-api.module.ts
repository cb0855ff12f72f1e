import { Module } from '@nestjs/common';
import { AuditModule } from '@gateway/audit';
import { AdminReportsController } from './admin-reports.controller';
import { UsageController } from './usage.controller';

/** The reports over the request ledger: `GET /api/v1/usage` (tenant) and the admin usage, chargeback and audit routes. Needs the global Tenancy module. */
@Module({
  imports: [AuditModule],
  controllers: [UsageController, AdminReportsController],
})
export class AuditApiModule {}
