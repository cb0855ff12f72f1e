import { type DynamicModule, Global, Module } from '@nestjs/common';
import { GatewayConfigService } from './gateway-config.service';
import type { GatewayConfig } from './config.types';

/** Global: configuration is infrastructure every lib reads. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: GatewayConfigService, useValue: new GatewayConfigService(config) }],
      exports: [GatewayConfigService],
    };
  }
}
