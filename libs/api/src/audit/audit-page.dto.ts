import { ApiProperty } from '@nestjs/swagger';
import { OUTCOMES } from '@gateway/audit';

/*
 * Swagger-only shapes of the audit list (the audit facade builds the JSON; see
 * libs/audit/src/report.types.ts).
 */

export class AttemptDto {
  @ApiProperty({ example: 'openai' }) provider!: string;

  @ApiProperty({
    enum: [
      'success',
      'timeout',
      'error',
      'rate_limited',
      'rejected',
      'skipped_circuit_open',
      'skipped_unconfigured',
    ],
    example: 'success',
  })
  outcome!: string;

  @ApiProperty({ example: 1180 }) latency_ms!: number;
}

export class AuditRecordDto {
  @ApiProperty({ example: 'req_01J2ZK8W6Q' }) request_id!: string;
  @ApiProperty({ example: '3f0c6a52-8d2b-4e0a-9a51-2b7f1c9d4e10' }) tenant_id!: string;
  @ApiProperty({ example: '0b6e9d3c-52a4-4f7b-8a0e-6d1f2c3b4a59' }) api_key_id!: string;
  @ApiProperty({ example: '2025-06-14T09:12:44.312Z' }) created_at!: string;
  @ApiProperty({ example: '/api/v1/completions' }) endpoint!: string;
  @ApiProperty({ example: 'gpt-4o-mini', nullable: true, type: String }) model!: string | null;
  @ApiProperty({ example: 'openai', nullable: true, type: String }) provider!: string | null;

  @ApiProperty({ example: 'gpt-4o-mini-2024-07-18', nullable: true, type: String })
  provider_model!: string | null;

  @ApiProperty({ example: 200 }) status_code!: number;
  @ApiProperty({ enum: OUTCOMES, example: 'success' }) outcome!: string;
  @ApiProperty({ example: 12 }) prompt_tokens!: number;
  @ApiProperty({ example: 15 }) completion_tokens!: number;
  @ApiProperty({ example: 0.0000108, description: 'USD.' }) cost!: number;
  @ApiProperty({ example: 0, description: 'USD a cache hit saved.' }) cost_saved!: number;
  @ApiProperty({ example: 1247 }) latency_ms!: number;

  @ApiProperty({ example: 1180, nullable: true, type: Number })
  upstream_latency_ms!: number | null;

  @ApiProperty({ example: false }) cached!: boolean;
  @ApiProperty({ type: [AttemptDto] }) attempts!: AttemptDto[];
  @ApiProperty({ example: null, nullable: true, type: String }) error_code!: string | null;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditRecordDto] }) data!: AuditRecordDto[];

  @ApiProperty({
    example: 'MjAyNS0wNi0xNFQwOToxMjo0NC4zMTIwMDBafDQyMTc',
    nullable: true,
    type: String,
    description: 'Pass as `cursor` for the next (older) page; null on the last page.',
  })
  next_cursor!: string | null;
}
