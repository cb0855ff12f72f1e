import { BudgetReservationEntity } from '@gateway/admission';
import { RequestRecordEntity } from '@gateway/audit';
import { AdminKeyEntity, ApiKeyEntity, TenantEntity } from '@gateway/tenancy';
/*
 * Every TypeORM entity of the gateway, composed here (the app owns composition) and shared by the
 * app's DataSource and the migration CLI.
 */
export const ENTITIES: Array<new () => unknown> = [
  RequestRecordEntity,
  TenantEntity,
  ApiKeyEntity,
  AdminKeyEntity,
  BudgetReservationEntity,
];
