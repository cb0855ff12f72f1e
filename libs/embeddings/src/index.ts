export { EmbeddingsModule } from './embeddings.module';
export { EmbeddingsService, type EmbeddingsOutcome } from './embeddings.service';
export { parseEmbeddingBody, type ParsedEmbedding } from './embedding-request.parser';
