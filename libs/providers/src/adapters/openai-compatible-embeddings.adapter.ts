import { OpenAiEmbeddingsAdapter } from './openai-embeddings.adapter';

/**
 * OpenAI-compatible local servers (Ollama, vLLM, llama.cpp server) at `{base}/embeddings`: the same
 * wire format, but asked for JSON floats, the one encoding every such server knows (base64 support
 * came late or not at all). The gateway encodes for its client either way.
 */
export class OpenAiCompatibleEmbeddingsAdapter extends OpenAiEmbeddingsAdapter {
  protected override readonly encodingFormat: 'base64' | null = null;
}
