/** The unified embedding request every embedding adapter translates from (validated by the embeddings lib). */
export interface EmbeddingRequest {
  /** One or more texts, in order; each gets one vector. */
  readonly input: readonly string[];
  /** Requested vector length (models that can shorten their vectors); null = the model's own. */
  readonly dimensions: number | null;
  readonly user: string | null;
}

/**
 * The unified answer every embedding adapter translates to. Vectors are float32, the precision
 * every embedding API computes and sends (OpenAI's base64 is little-endian float32; JSON floats are
 * float32 values printed as decimals), so nothing is lost whichever way a provider sent them.
 */
export interface EmbeddingResult {
  /** One vector per input, in input order, all of the same length. */
  readonly vectors: readonly Float32Array[];
  readonly promptTokens: number;
  /** The model name the provider reported (may differ from the catalog's). */
  readonly providerModel: string;
}
