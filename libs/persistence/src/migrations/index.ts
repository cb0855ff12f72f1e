/*
 * Every committed migration, in order. Add new ones here (`npm run migration:generate -- Name`
 * writes the file; then list its class below).
 */
export const MIGRATIONS: Array<new () => unknown> = [];
