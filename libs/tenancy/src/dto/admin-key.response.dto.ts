import { ApiProperty } from '@nestjs/swagger';

/** An admin key as listed (extension). */
export class AdminKeyResponseDto {
  @ApiProperty({ format: 'uuid', example: '5a0c3e21-7d4b-4f6a-8c9e-1b2d3f4a5c6e' })
  key_id!: string;

  @ApiProperty({ type: String, nullable: true, example: 'ops-oncall' })
  name!: string | null;

  @ApiProperty({ example: 'llm-gw-admin-Zp3kQ8' })
  prefix!: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-05T10:00:00.000Z' })
  created_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  revoked_at!: string | null;
}
