export * from './chat.types';
export type { EmbeddingRequest, EmbeddingResult } from './embedding.types';
export { float32FromBytes, float32ToBase64 } from './vectors';
export { ProvidersModule } from './providers.module';
export { ProvidersService } from './providers.service';
export type { ProviderStatus, ProviderHealth } from './provider-registry.service';
export { ProviderError, type ProviderErrorKind } from './provider.error';
export type { CircuitState } from './resilience/circuit-breaker';
