import { Controller, Delete, HttpCode } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { TenantContext } from '@gateway/context';
import { CurrentTenant, TenantRoute } from '@gateway/tenancy';
import { CacheService } from '@gateway/cache';

@ApiTags('cache')
@Controller('api/v1/cache')
export class CacheController {
  constructor(private readonly cache: CacheService) {}

  @Delete()
  @HttpCode(204)
  @TenantRoute()
  @ApiOperation({
    summary: "Flush the caller's own cached answers",
    description:
      'O(1): the entries become unreachable at once on every instance and expire by TTL. ' +
      "Other tenants' entries are not affected.",
  })
  @ApiNoContentResponse({ description: 'Flushed.' })
  @ApiServiceUnavailableResponse({ description: 'Redis is unavailable; nothing was flushed.' })
  async flush(@CurrentTenant() tenant: TenantContext): Promise<void> {
    await this.cache.flushTenant(tenant.tenantId);
  }
}
