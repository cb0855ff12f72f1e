import { Module } from '@nestjs/common';
import { AdmissionModule } from '@gateway/admission';
import { AuditModule } from '@gateway/audit';
import { CacheModule } from '@gateway/cache';
import { ProvidersModule } from '@gateway/providers';
import { CompletionsController } from './completions.controller';
import { CompletionsEndpoint } from './completions.endpoint';
import { CompletionsService } from './completions.service';

/**
 * The completion routes. Their lifecycle is declared on the controller; the app also serves their
 * plain JSON requests before Express through that same declaration (`compileFastRoutes`).
 */
@Module({
  imports: [ProvidersModule, CacheModule, AdmissionModule, AuditModule],
  controllers: [CompletionsController],
  providers: [CompletionsService, CompletionsEndpoint],
  exports: [CompletionsService],
})
export class CompletionsModule {}
