export { EmbeddingsModule } from './embeddings.module';
export {
  EmbeddingsService,
  type EmbeddingExchange,
  type EmbeddingPlan,
} from './embeddings.service';
export { EmbeddingRequestGuard } from './embedding-request.guard';
export { parseEmbeddingBody, type ParsedEmbedding } from './embedding-request.parser';
