import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { AdminRoute, TenantsService } from '@gateway/tenancy';
import { AuditPageDto } from './audit-page.dto';
import { ChargebackReportDto } from './chargeback-report.dto';
import {
  type AuditPage,
  AuditService,
  type ChargebackReport,
  DEFAULT_LIMIT,
  MAX_DAYS,
  MAX_LIMIT,
  OUTCOMES,
  parseAuditQuery,
  parseChargebackQuery,
  parseDays,
  type UsageReport,
} from '@gateway/audit';
import { UsageReportDto } from './usage-report.dto';
import { QueryParams } from '@gateway/http';

/** Operator reports over the request ledger: per-tenant usage, chargeback, and the audit log. */
@ApiTags('admin: reports')
@Controller('api/v1/admin')
@AdminRoute()
export class AdminReportsController {
  constructor(
    private readonly audit: AuditService,
    private readonly tenants: TenantsService,
  ) {}

  @Get('tenants/:id/usage')
  @QueryParams(['days'])
  @ApiOperation({ summary: "A tenant's usage by provider over the last `days` × 24 h." })
  @ApiParam({ name: 'id', example: '3f0c6a52-8d2b-4e0a-9a51-2b7f1c9d4e10' })
  @ApiQuery({
    name: 'days',
    required: false,
    type: Number,
    example: 30,
    description: `Whole days, 1–${MAX_DAYS}; default 30.`,
  })
  @ApiOkResponse({ type: UsageReportDto })
  @ApiNotFoundResponse({ description: 'Unknown tenant (not_found).' })
  async tenantUsage(@Param('id') id: string, @Query('days') days: unknown): Promise<UsageReport> {
    const period = parseDays(days);
    const tenant = await this.tenants.requireTenant(id);
    return this.audit.tenantUsage({ id: tenant.id, name: tenant.name }, period);
  }

  @Get('usage')
  @QueryParams(['from', 'to', 'group_by', 'format'])
  @ApiOperation({
    summary: 'Chargeback report across tenants, as JSON or CSV.',
    description:
      'Answered requests (by a provider or the cache) in [from, to), grouped by any of ' +
      '`tenant, provider, model, day, month` (UTC). Costs are exact sums of the requests; CSV ' +
      'carries them as exact decimal strings.',
  })
  @ApiQuery({
    name: 'from',
    required: false,
    example: '2025-06-01T00:00:00Z',
    description: 'ISO 8601, inclusive; default the start of the current UTC month.',
  })
  @ApiQuery({
    name: 'to',
    required: false,
    example: '2025-07-01T00:00:00Z',
    description: 'ISO 8601, exclusive; default now.',
  })
  @ApiQuery({
    name: 'group_by',
    required: false,
    example: 'tenant,provider',
    description: 'Comma-separated: tenant, provider, model, day, month. Default tenant.',
  })
  // With an enum the example must sit in the schema, or the generator drops it.
  @ApiQuery({
    name: 'format',
    required: false,
    schema: { type: 'string', enum: ['json', 'csv'], example: 'json' },
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: ChargebackReportDto })
  async chargeback(
    @Query() q: Record<string, unknown>,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ChargebackReport | string> {
    const query = parseChargebackQuery(q, new Date());
    if (query.format === 'json') return this.audit.chargeback(query);
    const csv = await this.audit.chargebackCsv(query);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="chargeback-${query.from.toISOString().slice(0, 10)}.csv"`,
    );
    return csv;
  }

  @Get('audit')
  @QueryParams(['tenant_id', 'from', 'to', 'status', 'provider', 'model', 'limit', 'cursor'])
  @ApiOperation({
    summary: 'Audit records of tenant requests, newest first, cursor-paginated.',
    description: '`status` matches the outcome. Prompt and completion text are never stored.',
  })
  @ApiQuery({ name: 'tenant_id', required: false, example: '3f0c6a52-8d2b-4e0a-9a51-2b7f1c9d4e10' })
  @ApiQuery({ name: 'from', required: false, example: '2025-06-01T00:00:00Z' })
  @ApiQuery({ name: 'to', required: false, example: '2025-07-01T00:00:00Z' })
  @ApiQuery({
    name: 'status',
    required: false,
    description: 'The outcome to match.',
    schema: { type: 'string', enum: [...OUTCOMES], example: 'upstream_error' },
  })
  @ApiQuery({ name: 'provider', required: false, example: 'openai' })
  @ApiQuery({ name: 'model', required: false, example: 'gpt-4o-mini' })
  @ApiQuery({
    name: 'limit',
    required: false,
    type: Number,
    example: DEFAULT_LIMIT,
    description: `1–${MAX_LIMIT}; default ${DEFAULT_LIMIT}.`,
  })
  @ApiQuery({ name: 'cursor', required: false, description: 'next_cursor of the previous page.' })
  @ApiOkResponse({ type: AuditPageDto })
  list(@Query() q: Record<string, unknown>): Promise<AuditPage> {
    return this.audit.listRecords(parseAuditQuery(q));
  }
}
