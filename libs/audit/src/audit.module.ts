import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ErrorObserver } from '@gateway/errors';
import { TenantEntity } from '@gateway/tenancy';
import { AuditErrorObserver } from './audit-error.observer';
import { AuditInterceptor } from './audit.interceptor';
import { AuditService } from './audit.service';
import { AuditWriter } from './audit-writer.service';
import { PostgresRecordSink } from './postgres-record.sink';
import { RecordSink } from './record-sink';
import { RequestRecorder } from './request-recorder.service';
import { RequestRecordEntity } from './request-record.entity';
import { SpoolingRecordSink } from './spooling-record.sink';

/**
 * Request records: the group-commit writer, the global interceptor and error observer that write
 * one record per tenant request, and the queries behind the usage, chargeback and audit reports
 * (their routes are in libs/api). Needs the global ConfigModule and ObservabilityModule and the
 * app's TypeORM root. The app's exception filter takes `ErrorObserver` from here.
 */
@Module({
  imports: [TypeOrmModule.forFeature([RequestRecordEntity, TenantEntity])],
  providers: [
    PostgresRecordSink,
    { provide: RecordSink, useClass: SpoolingRecordSink },
    AuditWriter,
    RequestRecorder,
    AuditService,
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
    { provide: ErrorObserver, useClass: AuditErrorObserver },
  ],
  exports: [AuditService, AuditWriter, RequestRecorder, ErrorObserver],
})
export class AuditModule {}
