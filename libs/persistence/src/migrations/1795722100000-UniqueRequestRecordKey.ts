import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Makes (request_id, tenant_id, created_at) unique so a record written twice (replayed from the
 * audit outage spool, or re-sent after an INSERT that timed out but committed) is stored once:
 * the writer inserts with ON CONFLICT DO NOTHING. It replaces the plain request_id index, which
 * its leading column still serves. request_id alone cannot be unique: a client may reuse its
 * X-Request-Id, and each of its requests still gets a record.
 */
export class UniqueRequestRecordKey1795722100000 implements MigrationInterface {
  name = 'UniqueRequestRecordKey1795722100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE UNIQUE INDEX "request_records_request_key" ON "request_records" ("request_id", "tenant_id", "created_at")`,
    );
    await queryRunner.query(`DROP INDEX "public"."request_records_request_id_idx"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "request_records_request_id_idx" ON "request_records" ("request_id")`,
    );
    await queryRunner.query(`DROP INDEX "public"."request_records_request_key"`);
  }
}
