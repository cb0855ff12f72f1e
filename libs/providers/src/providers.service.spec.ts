import { type GatewayConfig, GatewayConfigService, type ModelConfig } from '@gateway/config';
import type { TenantContext } from '@gateway/context';
import { route } from './__fixtures__/fixtures';
import type { ProviderRegistry } from './provider-registry.service';
import type { ProviderRouter } from './provider-router.service';
import { ProvidersService } from './providers.service';

const multi: ModelConfig = {
  alias: 'multi',
  routes: [
    route({ provider: 'openai', model: 'a' }),
    route({ provider: 'anthropic', model: 'b' }),
    route({ provider: 'local', model: 'c' }),
    route({ provider: 'openai', model: 'a2' }),
    route({ provider: 'mock', model: 'd' }),
  ],
};
const solo: ModelConfig = { alias: 'solo', routes: [route({ provider: 'mock', model: 'x' })] };

// Only the catalog-facing methods are under test: they never touch the registry or the router.
const service = new ProvidersService(
  new GatewayConfigService({
    catalog: {
      providers: new Map(),
      models: new Map([
        ['multi', multi],
        ['solo', solo],
      ]),
    },
  } as unknown as GatewayConfig),
  undefined as unknown as ProviderRegistry,
  undefined as unknown as ProviderRouter,
);

function tenant(t: Partial<TenantContext>): TenantContext {
  return { providerPreferences: [], allowedModels: null, ...t } as TenantContext;
}

const order = (prefs: string[]) =>
  service
    .routesFor(tenant({ providerPreferences: prefs }), multi)
    .map((r) => `${r.provider}/${r.model}`);

describe('ProvidersService catalog views', () => {
  it('keeps the catalog order without preferences', () => {
    expect(order([])).toEqual(['openai/a', 'anthropic/b', 'local/c', 'openai/a2', 'mock/d']);
  });

  it('moves preferred providers first, in preference order; the rest keep catalog order', () => {
    expect(order(['mock', 'anthropic'])).toEqual([
      'mock/d',
      'anthropic/b',
      'openai/a',
      'local/c',
      'openai/a2',
    ]);
  });

  it('keeps all routes of a preferred provider together, in catalog order; ignores unknown names', () => {
    expect(order(['nope', 'openai'])).toEqual([
      'openai/a',
      'openai/a2',
      'anthropic/b',
      'local/c',
      'mock/d',
    ]);
  });

  it('never reorders the catalog itself', () => {
    order(['mock']);
    expect(multi.routes[0].provider).toBe('openai');
  });

  it('model() looks an alias up; modelsFor() honours allowed_models', () => {
    expect(service.model('solo')).toBe(solo);
    expect(service.model('missing')).toBeUndefined();
    expect(service.modelsFor(tenant({})).map((m) => m.alias)).toEqual(['multi', 'solo']);
    expect(service.modelsFor(tenant({ allowedModels: ['solo'] })).map((m) => m.alias)).toEqual([
      'solo',
    ]);
    expect(service.modelsFor(tenant({ allowedModels: [] }))).toEqual([]);
  });
});
