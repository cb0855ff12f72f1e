import { ApiProperty } from '@nestjs/swagger';

/** 201 of `POST …/keys`: the new key, shown this once. */
export class IssuedKeyResponseDto {
  @ApiProperty({ format: 'uuid', example: '9d2e7f10-4b3a-4c8e-a1f6-0e5d3c2b1a90' })
  key_id!: string;

  @ApiProperty({ example: 'llm-gw-4uQeVJ9hT0b2mXcZr7Lk1pYsA8dWn3GfE5oHiKjBv6C' })
  api_key!: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-05T10:00:00.000Z' })
  created_at!: string;
}
