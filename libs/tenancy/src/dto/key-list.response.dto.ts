import { ApiProperty } from '@nestjs/swagger';
import { KeyResponseDto } from './key.response.dto';

export class KeyListResponseDto {
  @ApiProperty({ type: [KeyResponseDto] })
  data!: KeyResponseDto[];
}
