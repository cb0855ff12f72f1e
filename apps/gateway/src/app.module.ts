import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AdmissionModule } from '@gateway/admission';
import { AuditApiModule, CacheApiModule, ProvidersApiModule } from '@gateway/api';
import { AuditModule } from '@gateway/audit';
import { CacheModule } from '@gateway/cache';
import { CompletionsModule } from '@gateway/completions';
import { ConfigModule, type GatewayConfig } from '@gateway/config';
import { EmbeddingsModule } from '@gateway/embeddings';
import { GatewayExceptionFilter } from '@gateway/errors';
import { HealthModule } from '@gateway/health';
import { ObservabilityModule } from '@gateway/observability';
import { PersistenceModule } from '@gateway/persistence';
import { ProvidersModule } from '@gateway/providers';
import { RedisModule } from '@gateway/redis';
import { StrictQueryGuard, TenancyModule } from '@gateway/tenancy';
import { ENTITIES } from './entities';
import type { Logger as PinoLogger } from 'pino';
import { loggerOptions } from './logger.options';

/** Composition only: every behaviour lives in a lib. */
@Module({})
export class AppModule {
  static forRoot(config: GatewayConfig, logger: PinoLogger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerOptions(logger)),
        ObservabilityModule,
        PersistenceModule.forRoot(ENTITIES),
        RedisModule,
        TenancyModule,
        ProvidersModule,
        // Each lib's routes (libs/api) right after its module: routes and Swagger tags keep this order.
        ProvidersApiModule,
        AdmissionModule,
        CacheModule,
        CacheApiModule,
        AuditModule,
        AuditApiModule,
        CompletionsModule,
        EmbeddingsModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: GatewayExceptionFilter },
        // Every route refuses query parameters it does not declare with @QueryParams (after
        // authentication on tenant and admin routes: the refusal is deferred to it).
        { provide: APP_GUARD, useClass: StrictQueryGuard },
      ],
    };
  }
}
