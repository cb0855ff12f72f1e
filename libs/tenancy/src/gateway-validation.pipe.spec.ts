import { GatewayError } from '@gateway/errors';
import { CreateTenantDto } from './dto/create-tenant.dto';
import { ListTenantsQueryDto } from './dto/list-tenants.query.dto';
import { UpdateTenantDto } from './dto/update-tenant.dto';
import { GatewayValidationPipe } from './gateway-validation.pipe';
import { budgetUsdToUnits } from './money-input';

const pipe = new GatewayValidationPipe();
const VALID = { name: 'acme', rate_limit: 10, monthly_budget: 25.5 };

async function body(metatype: new () => unknown, value: unknown) {
  try {
    return await pipe.transform(value, { type: 'body', metatype });
  } catch (err) {
    return err;
  }
}

async function expectInvalid(metatype: new () => unknown, value: unknown, param: string | null) {
  const err = await body(metatype, value);
  expect(err).toBeInstanceOf(GatewayError);
  expect((err as GatewayError).code).toBe('invalid_request');
  expect((err as GatewayError).param).toBe(param);
  if (param) expect((err as GatewayError).message).toContain(param.split('.')[0]);
  return err as GatewayError;
}

describe('GatewayValidationPipe on tenant DTOs', () => {
  it('accepts a minimal and a full create body', async () => {
    expect(await body(CreateTenantDto, VALID)).toBeInstanceOf(CreateTenantDto);
    const full = {
      ...VALID,
      monthly_budget: null,
      tokens_per_minute: 1000,
      provider_preferences: ['openai'],
      allowed_models: ['gpt-4o-mini'],
      cache_ttl_seconds: 60,
      alert_thresholds: [0.5, 1],
      alert_webhook_url: 'http://127.0.0.1:9999/hook',
      alert_webhook_secret: 's3cret',
    };
    expect(await body(CreateTenantDto, full)).toMatchObject(full);
  });

  it.each([
    [{ rate_limit: 10, monthly_budget: 1 }, 'name'],
    [{ ...VALID, name: '   ' }, 'name'],
    [{ ...VALID, name: 42 }, 'name'],
    [{ name: 'a', monthly_budget: 1 }, 'rate_limit'],
    [{ ...VALID, rate_limit: '10' }, 'rate_limit'],
    [{ ...VALID, rate_limit: 1.5 }, 'rate_limit'],
    [{ ...VALID, rate_limit: 0 }, 'rate_limit'],
    [{ name: 'a', rate_limit: 10 }, 'monthly_budget'],
    [{ ...VALID, monthly_budget: -1 }, 'monthly_budget'],
    [{ ...VALID, monthly_budget: '10' }, 'monthly_budget'],
    [{ ...VALID, tokens_per_minute: 0 }, 'tokens_per_minute'],
    [{ ...VALID, provider_preferences: 'openai' }, 'provider_preferences'],
    [{ ...VALID, provider_preferences: ['openai', 'openai'] }, 'provider_preferences'],
    [{ ...VALID, provider_preferences: null }, 'provider_preferences'],
    [{ ...VALID, allowed_models: [1] }, 'allowed_models'],
    [{ ...VALID, alert_thresholds: [0.5, 0] }, 'alert_thresholds'],
    [{ ...VALID, alert_thresholds: [1.5] }, 'alert_thresholds'],
    [{ ...VALID, alert_webhook_url: 'ftp://example.com/x' }, 'alert_webhook_url'],
    [{ ...VALID, alert_webhook_url: 'not a url' }, 'alert_webhook_url'],
    [{ ...VALID, cache_ttl_seconds: -5 }, 'cache_ttl_seconds'],
    [{ ...VALID, surprise: true }, 'surprise'],
  ])('refuses %j naming %s', async (value, param) => {
    await expectInvalid(CreateTenantDto, value, param);
  });

  it('refuses a body that is not an object', async () => {
    await expectInvalid(CreateTenantDto, [VALID], null);
    await expectInvalid(CreateTenantDto, 'acme', null);
  });

  it('treats a missing body as empty, naming the first required field', async () => {
    await expectInvalid(CreateTenantDto, undefined, 'name');
  });

  it('lets PATCH clear nullable fields but not required ones', async () => {
    const ok = await body(UpdateTenantDto, { monthly_budget: null, allowed_models: null });
    expect(ok).toMatchObject({ monthly_budget: null, allowed_models: null });
    expect(await body(UpdateTenantDto, {})).toBeInstanceOf(UpdateTenantDto);
    await expectInvalid(UpdateTenantDto, { rate_limit: null }, 'rate_limit');
    await expectInvalid(UpdateTenantDto, { name: null }, 'name');
    await expectInvalid(UpdateTenantDto, { disabled: 'yes' }, 'disabled');
  });

  it('converts and bounds the list query', async () => {
    const q = (await pipe.transform(
      { limit: '20' },
      { type: 'query', metatype: ListTenantsQueryDto },
    )) as ListTenantsQueryDto;
    expect(q.limit).toBe(20);
    for (const limit of ['0', '501', 'ten']) {
      const err = await pipe
        .transform({ limit }, { type: 'query', metatype: ListTenantsQueryDto })
        .catch((e: unknown) => e);
      expect((err as GatewayError).param).toBe('limit');
    }
  });
});

describe('budgetUsdToUnits', () => {
  it('converts exactly, up to 10 decimals', () => {
    expect(budgetUsdToUnits(0, 'b')).toBe(0);
    expect(budgetUsdToUnits(100, 'b')).toBe(1_000_000_000_000);
    expect(budgetUsdToUnits(0.1, 'b')).toBe(1_000_000_000);
    expect(budgetUsdToUnits(12.0000000001, 'b')).toBe(120_000_000_001);
    expect(budgetUsdToUnits(1e-7, 'b')).toBe(1_000);
    expect(budgetUsdToUnits(1e-10, 'b')).toBe(1);
  });

  it('refuses amounts finer than 1e-10 or negative, naming the field', () => {
    for (const bad of [0.00000000001, 1.23456789012, -1, 1e-11]) {
      expect(() => budgetUsdToUnits(bad, 'monthly_budget')).toThrow(
        expect.objectContaining({ code: 'invalid_request', param: 'monthly_budget' }),
      );
    }
  });
});
