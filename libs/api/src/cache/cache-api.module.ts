import { Module } from '@nestjs/common';
import { CacheModule } from '@gateway/cache';
import { CacheAdminController } from './cache-admin.controller';
import { CacheController } from './cache.controller';

/** The cache flushes: `DELETE /api/v1/cache` (tenant) and `/api/v1/admin/cache` (admin). Needs the global Tenancy module. */
@Module({
  imports: [CacheModule],
  controllers: [CacheController, CacheAdminController],
})
export class CacheApiModule {}
