import { ApiProperty } from '@nestjs/swagger';

/*
 * Swagger-only shapes of the usage report (the audit facade builds the JSON; see
 * libs/audit/src/report.types.ts).
 */

export class ProviderUsageDto {
  @ApiProperty({ example: 'openai', description: 'The provider that answered, or `cache`.' })
  provider!: string;

  @ApiProperty({ example: 1520 })
  requests!: number;

  @ApiProperty({ example: 412000, description: 'Prompt + completion tokens.' })
  tokens!: number;

  @ApiProperty({ example: 12.4163, description: 'USD; 0 for the `cache` row.' })
  cost!: number;

  @ApiProperty({ example: 812.4 })
  avg_latency_ms!: number;
}

export class UsageReportDto {
  @ApiProperty({ example: '3f0c6a52-8d2b-4e0a-9a51-2b7f1c9d4e10' })
  tenant_id!: string;

  @ApiProperty({ example: 'acme-research', description: "The tenant's current name." })
  tenant_name!: string;

  @ApiProperty({ example: 30 })
  period_days!: number;

  @ApiProperty({ type: [ProviderUsageDto] })
  usage_by_provider!: ProviderUsageDto[];
}
