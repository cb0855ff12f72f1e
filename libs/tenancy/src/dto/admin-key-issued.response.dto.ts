import { ApiProperty } from '@nestjs/swagger';

/** 201 of `POST /api/v1/admin/keys`: the new admin key, shown this once. */
export class AdminKeyIssuedResponseDto {
  @ApiProperty({ format: 'uuid', example: '5a0c3e21-7d4b-4f6a-8c9e-1b2d3f4a5c6e' })
  key_id!: string;

  @ApiProperty({ type: String, nullable: true, example: 'ops-oncall' })
  name!: string | null;

  @ApiProperty({ example: 'llm-gw-admin-Zp3kQ8vT1yR6nB0cW4mX9aL2sD7fG5hJ8kE3uI1oP' })
  api_key!: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-05T10:00:00.000Z' })
  created_at!: string;
}
