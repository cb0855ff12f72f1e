import { ApiProperty } from '@nestjs/swagger';
import { TenantResponseDto } from './tenant.response.dto';

export class TenantListResponseDto {
  @ApiProperty({ type: [TenantResponseDto] })
  data!: TenantResponseDto[];

  @ApiProperty({ type: String, nullable: true, example: null })
  next_cursor!: string | null;
}
