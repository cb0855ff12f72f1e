import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

/** `POST /api/v1/admin/keys` (extension): an optional label for who holds the key. */
export class CreateAdminKeyDto {
  @ApiProperty({ required: false, nullable: true, example: 'ops-oncall', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string | null;
}
