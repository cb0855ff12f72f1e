import { type GatewayConfig, GatewayConfigService, type ModelConfig } from '@gateway/config';
import type { TenantContext } from '@gateway/context';
import { GatewayMetrics } from '@gateway/observability';
import { providerConfig, route } from './__fixtures__/fixtures';
import type { ProviderCaller } from './provider-caller.service';
import { ProviderRegistry } from './provider-registry.service';
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
/** Every route on a provider without its key: not offered. */
const keyless: ModelConfig = {
  alias: 'keyless',
  routes: [route({ provider: 'anthropic', model: 'b' })],
};

function configWith(models: ModelConfig[]): GatewayConfigService {
  const providers = [
    providerConfig({ name: 'openai' }),
    providerConfig({
      name: 'anthropic',
      type: 'anthropic',
      apiKey: '',
      missingCredential: 'ANTHROPIC_API_KEY',
    }),
    providerConfig({ name: 'local', type: 'openai-compatible', apiKey: '' }),
    providerConfig({ name: 'mock', type: 'mock', baseUrl: null, apiKey: '' }),
  ];
  return new GatewayConfigService({
    catalog: {
      providers: new Map(providers.map((p) => [p.name, p])),
      models: new Map(models.map((m) => [m.alias, m])),
    },
  } as unknown as GatewayConfig);
}

function serviceFor(models: ModelConfig[]): ProvidersService {
  const config = configWith(models);
  // The router is never reached: only the catalog views and health are under test.
  return new ProvidersService(
    config,
    new ProviderRegistry(config, new GatewayMetrics()),
    undefined as unknown as ProviderRouter,
    undefined as unknown as ProviderCaller,
  );
}

const service = serviceFor([multi, keyless, solo]);

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

describe('ProvidersService with an unconfigured provider', () => {
  it('does not offer a model whose every route is on an unconfigured provider', () => {
    expect(service.modelsFor(tenant({})).map((m) => m.alias)).toEqual(['multi', 'solo']);
    expect(
      service.modelsFor(tenant({ allowedModels: ['keyless', 'solo'] })).map((m) => m.alias),
    ).toEqual(['solo']);
    // It is still in the catalog: a request naming it gets the 503 that says which key to set.
    expect(service.model('keyless')).toBe(keyless);
  });

  it('is not degraded because a provider lacks its key', () => {
    // `keyless` has no available route, but it is not offered; `multi` and `solo` can be served.
    expect(service.isDegraded()).toBe(false);
  });

  it('is degraded when it can offer no model at all', () => {
    expect(serviceFor([keyless]).isDegraded()).toBe(true);
    expect(serviceFor([keyless]).modelsFor(tenant({}))).toEqual([]);
  });
});
