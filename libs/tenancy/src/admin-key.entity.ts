import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** An admin key created through the API (the bootstrap ADMIN_API_KEY is not stored). */
@Entity({ name: 'admin_keys' })
export class AdminKeyEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'admin_keys_pkey' })
  id!: string;

  /** Operator's label, e.g. who holds the key. */
  @Column('text', { nullable: true })
  name!: string | null;

  @Index('admin_keys_key_hash_key', { unique: true })
  @Column('bytea', { name: 'key_hash' })
  keyHash!: Buffer;

  @Column('text')
  prefix!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt!: Date | null;
}
