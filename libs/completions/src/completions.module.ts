import { Module } from '@nestjs/common';
import { AdmissionModule } from '@gateway/admission';
import { AuditModule } from '@gateway/audit';
import { CacheModule } from '@gateway/cache';
import { ProvidersModule } from '@gateway/providers';
import { CompletionsController } from './completions.controller';
import { CompletionsEndpoint } from './completions.endpoint';
import { CompletionsFront } from './completions.front';
import { CompletionsService } from './completions.service';

/**
 * The completion routes. The app installs `CompletionsFront.routes()` in front of Express
 * (`installFastRoutes`); the controller serves what the fast routes leave to Express.
 */
@Module({
  imports: [ProvidersModule, CacheModule, AdmissionModule, AuditModule],
  controllers: [CompletionsController],
  providers: [CompletionsService, CompletionsEndpoint, CompletionsFront],
  exports: [CompletionsService, CompletionsFront],
})
export class CompletionsModule {}
