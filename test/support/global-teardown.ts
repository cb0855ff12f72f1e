import { loadDatabaseSupport } from './global-setup';

/** Drops the run's template database (global-setup.ts made it). */
export default async function globalTeardown(): Promise<void> {
  const { dropDatabase, TEMPLATE_DB_ENV } = await loadDatabaseSupport();
  const template = process.env[TEMPLATE_DB_ENV];
  if (!template) return;
  delete process.env[TEMPLATE_DB_ENV];
  await dropDatabase(template);
}
