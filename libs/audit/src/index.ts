export { RequestRecordEntity } from './request-record.entity';
