import { OpenAiAdapter } from './openai.adapter';

/**
 * OpenAI-compatible local servers (Ollama, vLLM, llama.cpp server, LM Studio): the OpenAI wire
 * format, no key required (one is sent when configured), and the classic `max_tokens` field.
 */
export class OpenAiCompatibleAdapter extends OpenAiAdapter {
  protected override readonly maxTokensField: string = 'max_tokens';
}
