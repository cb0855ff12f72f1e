import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/*
 * Swagger-only shapes of the chargeback report (the audit facade builds the JSON; see
 * libs/audit/src/report.types.ts).
 */

export class ChargebackTotalsDto {
  @ApiProperty({ example: 1520 }) requests!: number;
  @ApiProperty({ example: 301000 }) prompt_tokens!: number;
  @ApiProperty({ example: 111000 }) completion_tokens!: number;
  @ApiProperty({ example: 12.4163, description: 'USD, exact sum of the requests.' }) cost!: number;
  @ApiProperty({ example: 240 }) cache_hits!: number;
  @ApiProperty({ example: 1.9302, description: 'USD the cache hits would have cost.' })
  cost_saved!: number;
}

export class ChargebackRowDto extends ChargebackTotalsDto {
  @ApiPropertyOptional({
    example: '3f0c6a52-8d2b-4e0a-9a51-2b7f1c9d4e10',
    description: 'group_by tenant: the tenant id (also as tenant_id).',
  })
  tenant?: string;

  @ApiPropertyOptional({ example: '3f0c6a52-8d2b-4e0a-9a51-2b7f1c9d4e10' })
  tenant_id?: string;

  @ApiPropertyOptional({
    example: 'acme-research',
    nullable: true,
    type: String,
    description:
      "group_by tenant: the tenant's current name, next to its id (null if the tenant row is gone).",
  })
  tenant_name?: string | null;

  @ApiPropertyOptional({ example: 'openai' }) provider?: string;
  @ApiPropertyOptional({ example: 'gpt-4o-mini' }) model?: string;
  @ApiPropertyOptional({ example: '2025-06-01', description: 'UTC day.' }) day?: string;
  @ApiPropertyOptional({ example: '2025-06', description: 'UTC month.' }) month?: string;
}

export class ChargebackReportDto {
  @ApiProperty({ example: '2025-06-01T00:00:00.000Z' }) from!: string;
  @ApiProperty({ example: '2025-07-01T00:00:00.000Z' }) to!: string;

  @ApiProperty({ example: ['tenant', 'provider'], isArray: true })
  group_by!: string[];

  @ApiProperty({ type: [ChargebackRowDto] })
  data!: ChargebackRowDto[];

  @ApiProperty({ type: ChargebackTotalsDto })
  totals!: ChargebackTotalsDto;
}
