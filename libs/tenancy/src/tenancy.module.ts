import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminKeyEntity } from './admin-key.entity';
import { ApiKeyAuthenticator } from './api-key-authenticator.service';
import { ApiKeyEntity } from './api-key.entity';
import { TenantAuthGuard } from './tenant-auth.guard';
import { TenantChangeNotifier } from './tenant-change-notifier.service';
import { TenantEntity } from './tenant.entity';
import { TenantsService } from './tenants.service';

/**
 * Tenants, tenant keys, admin keys and the auth guards. Import it in any module whose controllers
 * use `@TenantRoute()` / `@AdminRoute()` (the guards resolve ApiKeyAuthenticator from there).
 * Needs the app's TypeORM root (PersistenceModule) and the global RedisModule/ConfigModule.
 */
@Module({
  imports: [TypeOrmModule.forFeature([TenantEntity, ApiKeyEntity, AdminKeyEntity])],
  providers: [
    TenantsService,
    ApiKeyAuthenticator,
    TenantChangeNotifier,
    TenantAuthGuard,
    AdminAuthGuard,
  ],
  exports: [
    TenantsService,
    ApiKeyAuthenticator,
    TenantChangeNotifier,
    TenantAuthGuard,
    AdminAuthGuard,
  ],
})
export class TenancyModule {}
