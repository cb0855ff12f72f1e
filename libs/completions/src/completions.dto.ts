import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/*
 * Swagger-only shapes: the completion body is validated by parseCompletionBody (hand-written for
 * the hot path), and these classes document it with examples that pass that validation.
 */

export class ChatMessageDto {
  @ApiProperty({ enum: ['system', 'user', 'assistant'], example: 'user' })
  role!: string;

  @ApiProperty({ example: 'Hello, how are you?' })
  content!: string;
}

export class CompletionRequestDto {
  @ApiProperty({ example: 'gpt-4o-mini', description: 'A model alias from GET /v1/models.' })
  model!: string;

  @ApiProperty({ type: [ChatMessageDto] })
  messages!: ChatMessageDto[];

  @ApiPropertyOptional({ example: 0.7, minimum: 0, maximum: 2 })
  temperature?: number;

  @ApiPropertyOptional({ example: 256, minimum: 1 })
  max_tokens?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 1 })
  top_p?: number;

  @ApiPropertyOptional({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
  })
  stop?: string | string[];

  @ApiPropertyOptional({ minimum: -2, maximum: 2 })
  presence_penalty?: number;

  @ApiPropertyOptional({ minimum: -2, maximum: 2 })
  frequency_penalty?: number;

  @ApiPropertyOptional()
  seed?: number;

  @ApiPropertyOptional({ description: 'End-user id; passed through, not part of the cache key.' })
  user?: string;

  @ApiPropertyOptional({
    example: false,
    description:
      'true: answer as text/event-stream chat.completion.chunk events ending in data: [DONE].',
  })
  stream?: boolean;

  @ApiPropertyOptional({
    example: { include_usage: true },
    description: 'With stream: include_usage adds a usage-only chunk before [DONE].',
  })
  stream_options?: { include_usage?: boolean };
}

export class AnthropicMessageRequestDto {
  @ApiProperty({ example: 'claude-sonnet-4-5' }) model!: string;
  @ApiProperty({ example: 256, minimum: 1 }) max_tokens!: number;
  @ApiProperty({ example: [{ role: 'user', content: 'Hello' }] })
  messages!: Array<{ role: string; content: unknown }>;
  @ApiPropertyOptional({ example: 'Be terse.' }) system?: unknown;
  @ApiPropertyOptional({ example: ['END'] }) stop_sequences?: string[];
  @ApiPropertyOptional({ minimum: 0, maximum: 1 }) temperature?: number;
  @ApiPropertyOptional({ minimum: 0, maximum: 1 }) top_p?: number;
  @ApiPropertyOptional({ example: { user_id: 'u-1' } }) metadata?: { user_id?: string };
  @ApiPropertyOptional({ description: "true: Anthropic's streaming events." }) stream?: boolean;
}

export class AnthropicMessageDto {
  @ApiProperty({ example: 'msg_5f0c6a3e' }) id!: string;
  @ApiProperty({ example: 'message' }) type!: 'message';
  @ApiProperty({ example: 'assistant' }) role!: 'assistant';
  @ApiProperty({ example: 'claude-sonnet-4-5' }) model!: string;
  @ApiProperty({ example: [{ type: 'text', text: 'Hi!' }] })
  content!: Array<{ type: 'text'; text: string }>;
  @ApiProperty({ example: 'end_turn' }) stop_reason!: string;
  @ApiProperty({ example: null, nullable: true }) stop_sequence!: string | null;
  @ApiProperty({ example: { input_tokens: 12, output_tokens: 3 } })
  usage!: { input_tokens: number; output_tokens: number };
}

export class CompletionAnswerDto {
  @ApiProperty({ example: 'I am fine, thank you.' }) content!: string;
  @ApiProperty({ example: 'gpt-4o-mini' }) model!: string;
  @ApiProperty({ example: 12 }) prompt_tokens!: number;
  @ApiProperty({ example: 15 }) completion_tokens!: number;
  @ApiProperty({ example: 27 }) total_tokens!: number;
  @ApiProperty({ example: 'openai' }) provider!: string;
}

export class CompletionResponseDto {
  @ApiProperty({ example: false }) cached!: boolean;
  @ApiProperty({ type: CompletionAnswerDto }) response!: CompletionAnswerDto;
  @ApiProperty({ example: 0.00054, description: 'USD, exact (multiple of 1e-10).' }) cost!: number;
  @ApiProperty({ example: 1247 }) latency_ms!: number;
  @ApiProperty({ example: 99 }) rate_limit_remaining!: number;
  @ApiProperty({ example: '5f0c6a3e-1d2b-4c1e-9d6f-0a1b2c3d4e5f' }) request_id!: string;
  @ApiProperty({ example: 'gpt-4o-mini-2024-07-18' }) provider_model!: string;
  @ApiProperty({ example: [{ provider: 'openai', outcome: 'success', latency_ms: 1180 }] })
  attempts!: Array<{ provider: string; outcome: string; latency_ms: number }>;
}

export class ChatCompletionResponseDto {
  @ApiProperty({ example: 'chatcmpl-5f0c6a3e' }) id!: string;
  @ApiProperty({ example: 'chat.completion' }) object!: string;
  @ApiProperty({ example: 1764180000 }) created!: number;
  @ApiProperty({ example: 'gpt-4o-mini' }) model!: string;
  @ApiProperty({
    example: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hi!' },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
  })
  choices!: unknown[];
  @ApiProperty({ example: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } })
  usage!: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export class ModelListDto {
  @ApiProperty({ example: 'list' }) object!: string;
  @ApiProperty({
    example: [{ id: 'gpt-4o-mini', object: 'model', created: 0, owned_by: 'llm-gateway' }],
  })
  data!: Array<{ id: string; object: string; created: number; owned_by: string }>;
}
