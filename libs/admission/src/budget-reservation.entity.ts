import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** BIGINT comes back from pg as a string; money units stay below 2^53, so a number is exact. */
const bigintAsNumber = {
  to: (v: number) => v,
  from: (v: string) => Number(v),
};

/**
 * A budget reservation held in Postgres while Redis is unavailable, so that every
 * instance's in-flight worst cases count in the Postgres-authoritative check. A settled row keeps
 * its actual cost for a short grace period, covering the moment between the settlement and the
 * audit record's insert (counting a cost twice for a minute refuses early; counting it zero times
 * could overspend). Rows expire; expired rows are ignored and purged.
 */
@Entity({ name: 'budget_reservations' })
@Index('budget_reservations_tenant_id_expires_at_idx', ['tenantId', 'expiresAt'])
@Index('budget_reservations_expires_at_idx', ['expiresAt'])
export class BudgetReservationEntity {
  /** The admission ticket's reservation id (also its Redis member). */
  @PrimaryColumn('text', { primaryKeyConstraintName: 'budget_reservations_pkey' })
  id!: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId!: string;

  /** Units of 1e-10 USD: the worst case while in flight, the actual cost once settled. */
  @Column('bigint', { name: 'amount_units', transformer: bigintAsNumber })
  amountUnits!: number;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
