import { Module } from '@nestjs/common';
import { TenancyModule } from '@gateway/tenancy';
import { CacheAdminController } from './cache-admin.controller';
import { CacheController } from './cache.controller';
import { CacheService } from './cache.service';
import { CacheStore } from './cache.store';

/** The response cache. Needs the global ConfigModule, RedisModule and ObservabilityModule. */
@Module({
  imports: [TenancyModule],
  controllers: [CacheController, CacheAdminController],
  providers: [CacheStore, CacheService],
  exports: [CacheService],
})
export class CacheModule {}
