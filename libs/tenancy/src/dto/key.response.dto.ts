import { ApiProperty } from '@nestjs/swagger';

/** A key as listed: its display prefix only. */
export class KeyResponseDto {
  @ApiProperty({ format: 'uuid', example: '9d2e7f10-4b3a-4c8e-a1f6-0e5d3c2b1a90' })
  key_id!: string;

  @ApiProperty({ example: 'llm-gw-4uQeVJ' })
  prefix!: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-05T10:00:00.000Z' })
  created_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  revoked_at!: string | null;
}
