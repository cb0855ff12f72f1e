import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tenants, their keys and admin keys of libs/tenancy (keys stored only as SHA-256 digests). */
export class CreateTenancy1795721900000 implements MigrationInterface {
  name = 'CreateTenancy1795721900000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "tenants" (
        "id" uuid NOT NULL,
        "name" text NOT NULL,
        "rate_limit" integer NOT NULL,
        "tokens_per_minute" integer,
        "monthly_budget_units" bigint,
        "provider_preferences" jsonb NOT NULL DEFAULT '[]',
        "allowed_models" jsonb,
        "cache_ttl_seconds" integer,
        "alert_thresholds" jsonb NOT NULL DEFAULT '[0.5, 0.8, 1.0]',
        "alert_webhook_url" text,
        "alert_webhook_secret" text,
        "disabled_at" TIMESTAMP WITH TIME ZONE,
        "version" integer NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "tenants_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "tenants_created_at_id_idx" ON "tenants" ("created_at", "id")`,
    );
    await queryRunner.query(`
      CREATE TABLE "api_keys" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "key_hash" bytea NOT NULL,
        "prefix" text NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "revoked_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys" ("key_hash")`,
    );
    await queryRunner.query(
      `CREATE INDEX "api_keys_tenant_id_created_at_idx" ON "api_keys" ("tenant_id", "created_at")`,
    );
    await queryRunner.query(
      `ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`
      CREATE TABLE "admin_keys" (
        "id" uuid NOT NULL,
        "name" text,
        "key_hash" bytea NOT NULL,
        "prefix" text NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "revoked_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "admin_keys_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "admin_keys_key_hash_key" ON "admin_keys" ("key_hash")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "admin_keys"`);
    await queryRunner.query(`DROP TABLE "api_keys"`);
    await queryRunner.query(`DROP TABLE "tenants"`);
  }
}
