import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

/** `POST /api/v1/admin/keys` (extension): an optional label for who holds the key. */
export class CreateAdminKeyDto {
  @ApiProperty({ required: false, nullable: true, example: 'ops-oncall', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  // eslint-disable-next-line no-control-regex -- stored and shown to operators: no control characters.
  @Matches(/^[^\u0000-\u001f\u007f-\u009f]*$/, {
    message: '$property must not contain control characters',
  })
  name?: string | null;
}
