import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSourceOptions } from 'typeorm';
import { GatewayConfigService } from '@gateway/config';
import { dataSourceOptions } from './data-source-options';
import { MigrationLockedDataSource } from './migration-locked-data-source';

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
          // Migrations at boot run under an advisory lock, so replicas starting together do not race.
          dataSourceFactory: (options?: DataSourceOptions) => {
            if (!options) throw new Error('PersistenceModule: no DataSource options');
            return new MigrationLockedDataSource(options).initialize();
          },
        }),
      ],
      exports: [TypeOrmModule],
    };
  }
}
