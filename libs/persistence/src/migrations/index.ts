import { CreateRequestRecords1795721815733 } from './1795721815733-CreateRequestRecords';
import { CreateTenancy1795721900000 } from './1795721900000-CreateTenancy';
import { CreateBudgetReservations1795722000000 } from './1795722000000-CreateBudgetReservations';
import { UniqueRequestRecordKey1795722100000 } from './1795722100000-UniqueRequestRecordKey';
/*
 * Every committed migration, in order. Add new ones here (`npm run migration:generate -- Name`
 * writes the file; then list its class below).
 */
export const MIGRATIONS: Array<new () => unknown> = [
  CreateRequestRecords1795721815733,
  CreateTenancy1795721900000,
  CreateBudgetReservations1795722000000,
  UniqueRequestRecordKey1795722100000,
];
