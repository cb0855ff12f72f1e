import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** Cursor pagination of docs/api.md §4 and §7 Lists: newest first, limit default 50, max 500. */
export class ListTenantsQueryDto {
  @ApiProperty({ required: false, example: 50, minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiProperty({
    required: false,
    description: 'Opaque `next_cursor` of the previous page.',
    example: 'eyJjIjoiMjAyNi0wMS0wMSAwMDowMDowMCswMCIsImkiOiIwIn0',
  })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}
