// One module per facade, so the app can register each one's routes where that lib's used to be
// (route and Swagger order follow module order) and a test can mount one without the others.
export { ProvidersApiModule } from './providers/providers-api.module';
export { CacheApiModule } from './cache/cache-api.module';
export { AuditApiModule } from './audit/audit-api.module';
