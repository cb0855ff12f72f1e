import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Budget reservations of libs/admission held in Postgres while Redis is unavailable. */
export class CreateBudgetReservations1795722000000 implements MigrationInterface {
  name = 'CreateBudgetReservations1795722000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "budget_reservations" (
        "id" text NOT NULL,
        "tenant_id" uuid NOT NULL,
        "amount_units" bigint NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "budget_reservations_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "budget_reservations_tenant_id_expires_at_idx" ON "budget_reservations" ("tenant_id", "expires_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "budget_reservations_expires_at_idx" ON "budget_reservations" ("expires_at")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "budget_reservations"`);
  }
}
