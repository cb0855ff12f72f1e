import { Module } from '@nestjs/common';
import { CacheService } from './cache.service';
import { CacheStore } from './cache.store';

/** The response cache. Needs the global ConfigModule, RedisModule and ObservabilityModule. */
@Module({
  providers: [CacheStore, CacheService],
  exports: [CacheService],
})
export class CacheModule {}
