import { ApiProperty } from '@nestjs/swagger';

/** A tenant as the admin API shows it (never the webhook secret or any key hash). */
export class TenantResponseDto {
  @ApiProperty({ format: 'uuid', example: '3f1c2a9e-8b7d-4c1e-9f5a-2d6b8e0c4a11' })
  tenant_id!: string;

  @ApiProperty({ example: 'acme-prod' })
  name!: string;

  @ApiProperty({ example: 100 })
  rate_limit!: number;

  @ApiProperty({ type: Number, nullable: true, example: 100000 })
  tokens_per_minute!: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 50.25,
    description: 'USD; null = unlimited.',
  })
  monthly_budget!: number | null;

  @ApiProperty({ type: [String], example: ['anthropic', 'openai'] })
  provider_preferences!: string[];

  @ApiProperty({ type: [String], nullable: true, example: ['gpt-4o-mini'] })
  allowed_models!: string[] | null;

  @ApiProperty({ type: Number, nullable: true, example: 600 })
  cache_ttl_seconds!: number | null;

  @ApiProperty({ type: [Number], example: [0.5, 0.8, 1] })
  alert_thresholds!: number[];

  @ApiProperty({ type: String, nullable: true, example: 'https://hooks.example.com/llm-budget' })
  alert_webhook_url!: string | null;

  @ApiProperty({
    example: true,
    description: 'Whether a webhook secret is set (it is never shown).',
  })
  alert_webhook_secret_set!: boolean;

  @ApiProperty({ example: false })
  disabled!: boolean;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  disabled_at!: string | null;

  @ApiProperty({ example: 1, description: 'Bumped on every change.' })
  version!: number;

  @ApiProperty({ format: 'date-time', example: '2026-01-05T10:00:00.000Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-05T10:00:00.000Z' })
  updated_at!: string;

  @ApiProperty({
    required: false,
    example: 12.5,
    description: 'GET one only: settled spend this UTC month, USD (when budgets are tracked).',
  })
  spend_usd?: number;

  @ApiProperty({
    required: false,
    example: 0.02,
    description: 'GET one only: reserved by in-flight requests.',
  })
  reserved_usd?: number;

  @ApiProperty({
    required: false,
    type: Number,
    nullable: true,
    example: 37.73,
    description: 'GET one only: budget left this month; null = unlimited.',
  })
  remaining_usd?: number | null;
}
