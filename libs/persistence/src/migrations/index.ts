import { CreateRequestRecords1795721815733 } from './1795721815733-CreateRequestRecords';
/*
 * Every committed migration, in order. Add new ones here (`npm run migration:generate -- Name`
 * writes the file; then list its class below).
 */
export const MIGRATIONS: Array<new () => unknown> = [CreateRequestRecords1795721815733];
