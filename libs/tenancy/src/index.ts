export { TenancyModule } from './tenancy.module';
export {
  TenantsService,
  type IssuedKey,
  type TenantPage,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
} from './tenants.service';
export { AdminKeysService } from './admin-keys.service';
export { GatewayValidationPipe } from './gateway-validation.pipe';
export { TenantAuthGuard } from './tenant-auth.guard';
export { AdminAuthGuard } from './admin-auth.guard';
export { StrictQueryGuard } from './strict-query.guard';
export { authenticate, admitTenant, type KeyAdmission } from './key-auth';
export {
  TenantRoute,
  AdminRoute,
  CurrentTenant,
  CurrentAdmin,
  RouteKind,
  type RouteKindValue,
  addTenancySecuritySchemes,
  TENANT_KEY_SCHEME,
  TENANT_BEARER_SCHEME,
  ADMIN_KEY_SCHEME,
} from './route.decorators';
export { TenantSpendReader } from './tenant-spend-reader';
export {
  TenantChangeNotifier,
  ALL_TENANTS,
  KEY_ISSUED,
  type TenantChangeListener,
} from './tenant-change-notifier.service';
export { ApiKeyAuthenticator, type KeyResolution } from './api-key-authenticator.service';
export {
  AuthFailureThrottle,
  AUTH_FAILURE_LIMIT,
  AUTH_FAILURE_WINDOW_MS,
} from './auth-failure-throttle.service';
export { RedisThrottlerStorage } from './redis-throttler.storage';
export { ClientAddressResolver, clientCountingKey } from './client-address';
export { TenantEntity } from './tenant.entity';
export { ApiKeyEntity } from './api-key.entity';
export { AdminKeyEntity } from './admin-key.entity';
export { isPrivateAddress, publicOnlyLookup, webhookUrlProblem } from './webhook-target';
