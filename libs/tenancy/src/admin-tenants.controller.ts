import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Logger,
  type OnModuleInit,
  Optional,
  Param,
  Patch,
  Post,
  Query,
  UsePipes,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CreateTenantDto } from './dto/create-tenant.dto';
import { IssuedKeyResponseDto } from './dto/issued-key.response.dto';
import { KeyListResponseDto } from './dto/key-list.response.dto';
import { ListTenantsQueryDto } from './dto/list-tenants.query.dto';
import { TenantCreatedResponseDto } from './dto/tenant-created.response.dto';
import { TenantListResponseDto } from './dto/tenant-list.response.dto';
import { TenantResponseDto } from './dto/tenant.response.dto';
import { UpdateTenantDto } from './dto/update-tenant.dto';
import { GatewayValidationPipe } from './gateway-validation.pipe';
import { AdminRoute } from './route.decorators';
import { TenantSpendReader } from './tenant-spend-reader';
import { toTenantView } from './tenant-view';
import { TenantsService } from './tenants.service';
import { QueryParams } from '@gateway/http';

const TENANT_ID = { name: 'id', format: 'uuid', description: 'Tenant id.' };

/** docs/api.md §3 admin tenant and key routes. */
@ApiTags('admin: tenants')
@Controller('api/v1/admin/tenants')
@AdminRoute()
@UsePipes(GatewayValidationPipe)
@ApiBadRequestResponse({
  description: 'Validation failed (invalid_request, `param` names the field).',
})
export class AdminTenantsController implements OnModuleInit {
  private readonly logger = new Logger('AdminTenants');

  constructor(
    private readonly tenants: TenantsService,
    private readonly moduleRef: ModuleRef,
    @Optional() private spendReader?: TenantSpendReader,
  ) {}

  onModuleInit(): void {
    // The reader lives in another lib's module (admission); find it app-wide without importing it.
    if (this.spendReader) return;
    try {
      this.spendReader = this.moduleRef.get(TenantSpendReader, { strict: false });
    } catch {
      this.spendReader = undefined;
    }
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a tenant and its first key (shown once).' })
  @ApiCreatedResponse({ type: TenantCreatedResponseDto })
  async create(@Body() body: CreateTenantDto): Promise<TenantCreatedResponseDto> {
    const { tenant, key } = await this.tenants.create(body);
    return { ...toTenantView(tenant), api_key: key.key, key_id: key.id };
  }

  @Get()
  @QueryParams(['limit', 'cursor'])
  @ApiOperation({ summary: 'List tenants, newest first, cursor-paginated.' })
  @ApiOkResponse({ type: TenantListResponseDto })
  async list(@Query() query: ListTenantsQueryDto): Promise<TenantListResponseDto> {
    const page = await this.tenants.list({ limit: query.limit, cursor: query.cursor });
    return { data: page.tenants.map(toTenantView), next_cursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: "Read a tenant, with this month's spend when budgets are tracked." })
  @ApiParam(TENANT_ID)
  @ApiOkResponse({ type: TenantResponseDto })
  @ApiNotFoundResponse({ description: 'Unknown tenant (not_found).' })
  async get(@Param('id') id: string): Promise<TenantResponseDto> {
    const view = toTenantView(await this.tenants.requireTenant(id));
    return { ...view, ...(await this.spend(id)) };
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Update limits, budget, preferences and alerts (absent = unchanged).' })
  @ApiParam(TENANT_ID)
  @ApiOkResponse({ type: TenantResponseDto })
  @ApiNotFoundResponse({ description: 'Unknown tenant (not_found).' })
  async update(@Param('id') id: string, @Body() body: UpdateTenantDto): Promise<TenantResponseDto> {
    return toTenantView(await this.tenants.update(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Disable a tenant: its keys are refused everywhere within 1 s.' })
  @ApiParam(TENANT_ID)
  @ApiNoContentResponse({ description: 'Disabled.' })
  @ApiNotFoundResponse({ description: 'Unknown tenant (not_found).' })
  async disable(@Param('id') id: string): Promise<void> {
    await this.tenants.disable(id);
  }

  @Post(':id/keys')
  @HttpCode(201)
  @ApiOperation({ summary: 'Issue another key (rotation); shown once.' })
  @ApiParam(TENANT_ID)
  @ApiCreatedResponse({ type: IssuedKeyResponseDto })
  @ApiNotFoundResponse({ description: 'Unknown tenant (not_found).' })
  async issueKey(@Param('id') id: string): Promise<IssuedKeyResponseDto> {
    const key = await this.tenants.issueKey(id);
    return { key_id: key.id, api_key: key.key, created_at: key.createdAt.toISOString() };
  }

  @Get(':id/keys')
  @ApiOperation({ summary: "List a tenant's keys (prefixes only), newest first." })
  @ApiParam(TENANT_ID)
  @ApiOkResponse({ type: KeyListResponseDto })
  @ApiNotFoundResponse({ description: 'Unknown tenant (not_found).' })
  async listKeys(@Param('id') id: string): Promise<KeyListResponseDto> {
    const keys = await this.tenants.listKeys(id);
    return {
      data: keys.map((k) => ({
        key_id: k.id,
        prefix: k.prefix,
        created_at: k.createdAt.toISOString(),
        revoked_at: k.revokedAt?.toISOString() ?? null,
      })),
    };
  }

  @Delete(':id/keys/:key_id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a key: refused everywhere within 1 s.' })
  @ApiParam(TENANT_ID)
  @ApiParam({ name: 'key_id', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Revoked.' })
  @ApiNotFoundResponse({ description: 'Unknown tenant or key (not_found).' })
  async revokeKey(@Param('id') id: string, @Param('key_id') keyId: string): Promise<void> {
    await this.tenants.revokeKey(id, keyId);
  }

  private async spend(tenantId: string): Promise<Partial<TenantResponseDto>> {
    if (!this.spendReader) return {};
    try {
      return (await this.spendReader.spend(tenantId)) ?? {};
    } catch (err) {
      // Spend is informative here; the tenant's settings are still worth showing without it.
      this.logger.warn({ err, tenantId }, 'tenant spend unavailable');
      return {};
    }
  }
}
