import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit ledger of libs/audit (see RequestRecordEntity for why each index exists). */
export class CreateRequestRecords1795721815733 implements MigrationInterface {
  name = 'CreateRequestRecords1795721815733';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "request_records" (
        "id" BIGSERIAL NOT NULL,
        "request_id" text NOT NULL,
        "tenant_id" uuid NOT NULL,
        "api_key_id" uuid NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "endpoint" text NOT NULL,
        "model" text,
        "provider" text,
        "provider_model" text,
        "status_code" integer NOT NULL,
        "outcome" text NOT NULL,
        "prompt_tokens" integer NOT NULL DEFAULT 0,
        "completion_tokens" integer NOT NULL DEFAULT 0,
        "cost_units" bigint NOT NULL DEFAULT 0,
        "cost_saved_units" bigint NOT NULL DEFAULT 0,
        "latency_ms" integer NOT NULL,
        "upstream_latency_ms" integer,
        "cached" boolean NOT NULL DEFAULT false,
        "attempts" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "error_code" text,
        CONSTRAINT "request_records_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "request_records_tenant_id_created_at_id_idx" ON "request_records" ("tenant_id", "created_at", "id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "request_records_created_at_id_idx" ON "request_records" ("created_at", "id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "request_records_failures_idx" ON "request_records" ("outcome", "created_at", "id") WHERE "outcome" NOT IN ('success', 'cached')`,
    );
    await queryRunner.query(
      `CREATE INDEX "request_records_request_id_idx" ON "request_records" ("request_id")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "request_records"`);
  }
}
