import { GatewayValidationPipe } from '../gateway-validation.pipe';
import { isWellFormedKey } from '../api-key';
import { AdminKeyIssuedResponseDto } from './admin-key-issued.response.dto';
import { CreateAdminKeyDto } from './create-admin-key.dto';
import { CreateTenantDto } from './create-tenant.dto';
import { IssuedKeyResponseDto } from './issued-key.response.dto';
import { ListTenantsQueryDto } from './list-tenants.query.dto';
import { TenantCreatedResponseDto } from './tenant-created.response.dto';
import { UpdateTenantDto } from './update-tenant.dto';

// @nestjs/swagger's metadata keys (its constants module is not exported).
const PROPS_ARRAY = 'swagger/apiModelPropertiesArray';
const PROPS = 'swagger/apiModelProperties';

/** The object Swagger UI pre-fills from the `example` of every documented property. */
function exampleOf(dto: new () => unknown): Record<string, unknown> {
  const names = (Reflect.getMetadata(PROPS_ARRAY, dto.prototype) ?? []) as string[];
  const out: Record<string, unknown> = {};
  for (const raw of names) {
    const name = raw.replace(/^:/, '');
    const meta = Reflect.getMetadata(PROPS, dto.prototype, name) as {
      example?: unknown;
    };
    if (meta?.example !== undefined) out[name] = meta.example;
  }
  return out;
}

describe('Swagger examples', () => {
  const pipe = new GatewayValidationPipe();

  it.each([
    ['body', CreateTenantDto],
    ['body', UpdateTenantDto],
    ['body', CreateAdminKeyDto],
    ['query', ListTenantsQueryDto],
  ] as const)('the %s example of %p passes validation', async (type, dto) => {
    const example = exampleOf(dto);
    expect(Object.keys(example).length).toBeGreaterThan(0);
    const value = type === 'query' ? { ...example, cursor: undefined } : example;
    await expect(pipe.transform(value, { type, metatype: dto })).resolves.toBeInstanceOf(dto);
  });

  it('the create example names only providers and models of the shipped and test catalogs', () => {
    const example = exampleOf(CreateTenantDto);
    for (const p of example.provider_preferences as string[]) {
      expect(['openai', 'anthropic', 'local', 'mock']).toContain(p);
    }
    expect(example.allowed_models).toEqual(['gpt-4o-mini']);
  });

  it('example keys look like real keys', () => {
    for (const dto of [TenantCreatedResponseDto, IssuedKeyResponseDto, AdminKeyIssuedResponseDto]) {
      expect(isWellFormedKey(exampleOf(dto).api_key as string)).toBe(true);
    }
  });
});
