import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { TenantContext } from '@gateway/context';
import { CurrentTenant, TenantRoute } from '@gateway/tenancy';
import { AuditService, MAX_DAYS, parseDays, type UsageReport } from '@gateway/audit';
import { UsageReportDto } from './usage-report.dto';
import { QueryParams } from '@gateway/http';

/** The caller's own usage; the tenant comes from the key only. */
@ApiTags('usage')
@Controller('api/v1/usage')
@TenantRoute()
export class UsageController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @QueryParams(['days'])
  @ApiOperation({
    summary: "The calling tenant's usage by provider over the last `days` × 24 h.",
    description:
      'One row per provider that answered; cache hits form a row with provider `cache` and cost 0. ' +
      'Requests refused before reaching a provider or the cache are in the audit log only.',
  })
  @ApiQuery({
    name: 'days',
    required: false,
    type: Number,
    example: 30,
    description: `Whole days, 1–${MAX_DAYS}; default 30.`,
  })
  @ApiOkResponse({ type: UsageReportDto })
  usage(
    @CurrentTenant() tenant: TenantContext,
    @Query('days') days: unknown,
  ): Promise<UsageReport> {
    return this.audit.tenantUsage({ id: tenant.tenantId, name: tenant.name }, parseDays(days));
  }
}
