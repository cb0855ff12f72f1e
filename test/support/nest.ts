import { ConfigModule, type GatewayConfig } from '@gateway/config';
import { ObservabilityModule } from '@gateway/observability';
import { PersistenceModule } from '@gateway/persistence';
import { RedisModule } from '@gateway/redis';
import { ENTITIES } from '../../apps/gateway/src/entities';

/**
 * The infrastructure modules a lib under test stands on (config, logs and metrics, Postgres,
 * Redis), in the order the app imports them, for tests that compose a Nest context around
 * one lib instead of booting the whole app.
 */
export function infrastructureModules(config: GatewayConfig) {
  return [
    ConfigModule.forRoot(config),
    ObservabilityModule,
    PersistenceModule.forRoot(ENTITIES),
    RedisModule,
  ];
}
