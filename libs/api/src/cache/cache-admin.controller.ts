import { Controller, Delete, HttpCode, Query } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AdminRoute, TenantsService } from '@gateway/tenancy';
import { CacheService } from '@gateway/cache';
import { QueryParams } from '@gateway/http';

@ApiTags('admin: cache')
@Controller('api/v1/admin/cache')
export class CacheAdminController {
  constructor(
    private readonly cache: CacheService,
    private readonly tenants: TenantsService,
  ) {}

  @Delete()
  @QueryParams(['tenant_id'])
  @HttpCode(204)
  @AdminRoute()
  @ApiOperation({
    summary: "Flush one tenant's cache, or the whole cache without tenant_id",
    description: 'O(1) either way (a generation bump; Redis is never scanned).',
  })
  @ApiQuery({
    name: 'tenant_id',
    required: false,
    type: String,
    format: 'uuid',
    description: 'The tenant to flush; without it, every tenant.',
  })
  @ApiNoContentResponse({ description: 'Flushed.' })
  @ApiNotFoundResponse({ description: 'No tenant with this id (not_found).' })
  @ApiServiceUnavailableResponse({ description: 'Redis is unavailable; nothing was flushed.' })
  async flush(@Query('tenant_id') tenantId?: string): Promise<void> {
    if (tenantId === undefined || tenantId === '') {
      await this.cache.flushAll();
      return;
    }
    const tenant = await this.tenants.requireTenant(tenantId);
    await this.cache.flushTenant(tenant.id);
  }
}
