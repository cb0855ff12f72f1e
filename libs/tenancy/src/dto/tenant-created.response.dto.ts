import { ApiProperty } from '@nestjs/swagger';
import { TenantResponseDto } from './tenant.response.dto';

/** 201 of tenant creation: the tenant plus its first key, shown this once. */
export class TenantCreatedResponseDto extends TenantResponseDto {
  @ApiProperty({ example: 'llm-gw-4uQeVJ9hT0b2mXcZr7Lk1pYsA8dWn3GfE5oHiKjBv6C' })
  api_key!: string;

  @ApiProperty({ format: 'uuid', example: '9d2e7f10-4b3a-4c8e-a1f6-0e5d3c2b1a90' })
  key_id!: string;
}
