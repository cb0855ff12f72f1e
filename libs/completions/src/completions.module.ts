import { Module } from '@nestjs/common';
import { AdmissionModule } from '@gateway/admission';
import { CacheModule } from '@gateway/cache';
import { ProvidersModule } from '@gateway/providers';
import { CompletionsController } from './completions.controller';
import { CompletionsService } from './completions.service';

@Module({
  imports: [ProvidersModule, CacheModule, AdmissionModule],
  controllers: [CompletionsController],
  providers: [CompletionsService],
  exports: [CompletionsService],
})
export class CompletionsModule {}
