import { Client } from 'pg';
import Redis from 'ioredis';

/** Fails fast, with a clear line, when the shared Postgres or Redis is not running. */
export default async function globalSetup(): Promise<void> {
  const pg = new Client({
    connectionString:
      process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  });
  try {
    await pg.connect();
    await pg.query('SELECT 1');
  } catch (err) {
    throw new Error(`tests need PostgreSQL at 127.0.0.1:5432: ${(err as Error).message}`);
  } finally {
    await pg.end().catch(() => undefined);
  }
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`tests need Redis at 127.0.0.1:6379: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
}
