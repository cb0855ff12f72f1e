/** What the bound needs of a chat message (ChatMessage of @gateway/providers fits). */
export interface PromptMessage {
  readonly role: string;
  readonly content: string;
}

/*
 * Chat templates wrap each message in a few special tokens (OpenAI: 3 per message + 3 to prime the
 * reply; Llama 3: header/eot markers; some local templates insert a default system prompt of ~20
 * tokens). These allowances are above every template we know, so the bound stays a bound.
 */
export const PER_MESSAGE_OVERHEAD_TOKENS = 16;
export const PER_REQUEST_OVERHEAD_TOKENS = 64;

/**
 * A true upper bound on the prompt tokens of any route (docs/limits-and-budgets.md): every token
 * of a byte-level BPE (OpenAI, Anthropic, Llama 3, Qwen) or of SentencePiece with byte fallback
 * covers at least one UTF-8 byte, so a text never has more tokens than bytes (SentencePiece's one
 * dummy-prefix piece is within the per-message allowance). Buffer.byteLength is native and needs
 * no copy: about 0.1 ms for a 1 MiB body, well inside the 0.5 ms hot-path budget, and it holds for
 * every provider a route may fall back to, which no single tokenizer does.
 */
export function promptTokenUpperBound(messages: readonly PromptMessage[]): number {
  let bound = PER_REQUEST_OVERHEAD_TOKENS;
  for (const m of messages) {
    bound +=
      PER_MESSAGE_OVERHEAD_TOKENS +
      Buffer.byteLength(m.role, 'utf8') +
      Buffer.byteLength(m.content, 'utf8');
  }
  return bound;
}

/**
 * Embedding models add a few special tokens around each input (BERT-style [CLS]/[SEP], BOS/EOS);
 * no chat template. Above every tokenizer we know, so the bound stays a bound.
 */
export const PER_INPUT_OVERHEAD_TOKENS = 8;

/** A true upper bound on the input tokens of an embeddings request, by the same byte argument. */
export function inputTokenUpperBound(inputs: readonly string[]): number {
  let bound = 0;
  for (const text of inputs) bound += PER_INPUT_OVERHEAD_TOKENS + Buffer.byteLength(text, 'utf8');
  return bound;
}
