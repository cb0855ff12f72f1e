import { Global, Module } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminKeysController } from './admin-keys.controller';
import { AdminKeysService } from './admin-keys.service';
import { AdminTenantsController } from './admin-tenants.controller';
import { AdminKeyEntity } from './admin-key.entity';
import { ApiKeyAuthenticator } from './api-key-authenticator.service';
import { AuthFailureThrottle } from './auth-failure-throttle.service';
import { ApiKeyEntity } from './api-key.entity';
import { RedisThrottlerStorage } from './redis-throttler.storage';
import { TenantAuthGuard } from './tenant-auth.guard';
import { TenantChangeNotifier } from './tenant-change-notifier.service';
import { TenantEntity } from './tenant.entity';
import { TenantsService } from './tenants.service';

/**
 * Tenants, tenant keys, admin keys and the auth guards. Global because authentication is
 * infrastructure: every lib's controllers use `@TenantRoute()` / `@AdminRoute()`, and the guards
 * resolve ApiKeyAuthenticator from the module that declares the controller. Needs the app's
 * TypeORM root (PersistenceModule) and the global RedisModule and ConfigModule.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([TenantEntity, ApiKeyEntity, AdminKeyEntity])],
  controllers: [AdminTenantsController, AdminKeysController],
  providers: [
    AdminKeysService,
    TenantsService,
    ApiKeyAuthenticator,
    AuthFailureThrottle,
    RedisThrottlerStorage,
    // @nestjs/throttler's storage token, for any ThrottlerGuard added later: counts on Redis too.
    { provide: ThrottlerStorage, useExisting: RedisThrottlerStorage },
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
