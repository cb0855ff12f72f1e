export { AuditModule } from './audit.module';
export { AuditService } from './audit.service';
export { AuditWriter } from './audit-writer.service';
export { RequestRecorder } from './request-recorder.service';
export { AuditInterceptor } from './audit.interceptor';
export { AuditErrorObserver } from './audit-error.observer';
export { RecordSink, type SpoolStatus } from './record-sink';
export { PostgresRecordSink, AuditInsertTimeoutError } from './postgres-record.sink';
export { SpoolingRecordSink } from './spooling-record.sink';
export { RecordSpool, SpoolFullError } from './record-spool';
export { RequestRecordEntity } from './request-record.entity';
export type { AuditRecord } from './audit-record';
export type * from './report.types';
export { GROUP_BY_FIELDS } from './report.types';
export {
  DEFAULT_LIMIT,
  MAX_DAYS,
  MAX_LIMIT,
  OUTCOMES,
  parseAuditQuery,
  parseChargebackQuery,
  parseDays,
} from './report-query.parser';
