import { ApiProperty } from '@nestjs/swagger';
import { AdminKeyResponseDto } from './admin-key.response.dto';

export class AdminKeyListResponseDto {
  @ApiProperty({ type: [AdminKeyResponseDto] })
  data!: AdminKeyResponseDto[];
}
