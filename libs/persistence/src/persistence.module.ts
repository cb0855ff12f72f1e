import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSourceOptions } from 'typeorm';
import { GatewayConfigService } from '@gateway/config';
import { dataSourceOptions } from './data-source-options';

@Module({})
export class PersistenceModule {
  /** The app passes every entity; migrations run at boot only when DB_MIGRATE_ON_BOOT=true. */
  static forRoot(entities: NonNullable<DataSourceOptions['entities']>): DynamicModule {
    return {
      module: PersistenceModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [GatewayConfigService],
          useFactory: (cfg: GatewayConfigService) => ({
            ...dataSourceOptions(cfg.config.database, entities),
            migrationsRun: cfg.config.database.migrateOnBoot,
            retryAttempts: 3,
            retryDelay: 1000,
          }),
        }),
      ],
      exports: [TypeOrmModule],
    };
  }
}
