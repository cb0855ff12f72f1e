import { Logger } from '@nestjs/common';
import { type GatewayConfig, GatewayConfigService } from '@gateway/config';
import { GatewayMetrics } from '@gateway/observability';
import { providerConfig } from './__fixtures__/fixtures';
import { ProviderRegistry } from './provider-registry.service';

// prom-client's registry is process-wide: provider names are unique to this file.
const KEYLESS = 'reg-keyless';
const KEYED = 'reg-keyed';

function registry(): { registry: ProviderRegistry; metrics: GatewayMetrics } {
  const providers = [
    providerConfig({ name: KEYLESS, apiKey: '', missingCredential: 'OPENAI_API_KEY' }),
    providerConfig({ name: KEYED }),
  ];
  const config = new GatewayConfigService({
    catalog: { providers: new Map(providers.map((p) => [p.name, p])), models: new Map() },
  } as unknown as GatewayConfig);
  const metrics = new GatewayMetrics();
  return { registry: new ProviderRegistry(config, metrics), metrics };
}

async function upSeries(metrics: GatewayMetrics, provider: string): Promise<number | undefined> {
  const { values } = await metrics.providerUp.get();
  return values.find((v) => v.labels.provider === provider)?.value;
}

describe('ProviderRegistry: a provider without its API key', () => {
  afterEach(() => jest.restoreAllMocks());

  it('logs one line at boot naming the variable to set', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    registry().registry.onApplicationBootstrap();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      { provider: KEYLESS, missing: 'OPENAI_API_KEY' },
      `provider ${KEYLESS} is unconfigured: set OPENAI_API_KEY`,
    );
  });

  it('is unconfigured, not down: listed as such, unavailable, its circuit untouched', () => {
    const { registry: r } = registry();
    expect(r.configured(KEYLESS)).toBe(false);
    expect(r.configured(KEYED)).toBe(true);
    expect(r.available(KEYLESS)).toBe(false);
    expect(r.available(KEYED)).toBe(true);
    expect(r.statuses().find((s) => s.provider === KEYLESS)).toEqual({
      provider: KEYLESS,
      status: 'unconfigured',
      circuit: 'closed',
      last_error: 'unconfigured: set OPENAI_API_KEY',
      last_checked_at: null,
    });
  });

  it('exports no provider_up series, even when the fleet reports its circuit', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { registry: r, metrics } = registry();
    const now = Date.now();
    r.adopt(KEYLESS, { state: 'open', until: now + 60_000, trips: 1, at: now }, now);
    expect(r.statuses().find((s) => s.provider === KEYLESS)?.status).toBe('unconfigured');
    expect(await upSeries(metrics, KEYLESS)).toBeUndefined();
    // A configured provider's failing check still publishes 0: the alert keeps working for it.
    r.recordHealth(KEYED, null);
    expect(await upSeries(metrics, KEYED)).toBe(1);
  });
});
