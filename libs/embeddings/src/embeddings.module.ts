import { Module } from '@nestjs/common';
import { AdmissionModule } from '@gateway/admission';
import { AuditModule } from '@gateway/audit';
import { CacheModule } from '@gateway/cache';
import { ProvidersModule } from '@gateway/providers';
import { EmbeddingsController } from './embeddings.controller';
import { EmbeddingsService } from './embeddings.service';

/** The embeddings route, declaring the completion routes' lifecycle (libs/lifecycle). */
@Module({
  imports: [ProvidersModule, CacheModule, AdmissionModule, AuditModule],
  controllers: [EmbeddingsController],
  providers: [EmbeddingsService],
  exports: [EmbeddingsService],
})
export class EmbeddingsModule {}
