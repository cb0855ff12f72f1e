import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/*
 * Swagger-only shapes: the body is validated by parseEmbeddingBody (hand-written, naming the
 * offending field), and these classes document it with examples that pass that validation.
 */

export class EmbeddingRequestDto {
  @ApiProperty({
    example: 'text-embedding-3-small',
    description: 'An embedding model alias from GET /v1/models.',
  })
  model!: string;

  @ApiProperty({
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2048 },
    ],
    example: ['The food was delicious.', 'The waiter was friendly.'],
    description: 'One text or up to 2048 texts (token-id arrays are not accepted).',
  })
  input!: string | string[];

  @ApiPropertyOptional({
    enum: ['float', 'base64'],
    example: 'float',
    description: "`float` (default): JSON numbers; `base64`: little-endian float32, as OpenAI's.",
  })
  encoding_format?: string;

  @ApiPropertyOptional({
    example: 256,
    minimum: 1,
    description: 'Shorter vectors, where supported.',
  })
  dimensions?: number;

  @ApiPropertyOptional({ description: 'End-user id; passed through, not part of the cache key.' })
  user?: string;
}

export class EmbeddingDto {
  @ApiProperty({ example: 'embedding' }) object!: string;
  @ApiProperty({ example: 0 }) index!: number;
  @ApiProperty({
    oneOf: [
      { type: 'array', items: { type: 'number' } },
      { type: 'string', format: 'byte' },
    ],
    example: [0.0023064255, -0.009327292, 0.015797347],
  })
  embedding!: number[] | string;
}

export class EmbeddingUsageDto {
  @ApiProperty({ example: 8 }) prompt_tokens!: number;
  @ApiProperty({ example: 8 }) total_tokens!: number;
}

export class EmbeddingListDto {
  @ApiProperty({ example: 'list' }) object!: string;
  @ApiProperty({ type: [EmbeddingDto] }) data!: EmbeddingDto[];
  @ApiProperty({ example: 'text-embedding-3-small', description: 'The requested alias.' })
  model!: string;
  @ApiProperty({ type: EmbeddingUsageDto }) usage!: EmbeddingUsageDto;
}
