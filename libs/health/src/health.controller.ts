import { Controller, Get, Header, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { HealthReport } from './health.types';
import { HealthService } from './health.service';

/** Seconds a client or load balancer should wait before asking again after a 503. */
const RETRY_AFTER_S = '5';

const REPORT_EXAMPLE = {
  status: 'healthy',
  service: 'llm-gateway',
  timestamp: '2025-11-01T12:00:00.000Z',
  checks: { postgres: 'up', redis: 'up', providers: 'ok', draining: false },
};

const REPORT_SCHEMA = {
  type: 'object',
  required: ['status', 'service', 'timestamp'],
  properties: {
    status: { type: 'string', enum: ['healthy', 'degraded', 'unhealthy'] },
    service: { type: 'string', example: 'llm-gateway' },
    timestamp: { type: 'string', format: 'date-time' },
    checks: {
      type: 'object',
      description: 'Extension: the state of each dependency when the answer was made.',
      properties: {
        postgres: { type: 'string', enum: ['up', 'down'] },
        redis: { type: 'string', enum: ['up', 'down'] },
        providers: {
          type: 'string',
          enum: ['ok', 'degraded', 'unknown'],
          description:
            '`degraded` when some model with a configured route has no available route ' +
            '(providers without their API key are unconfigured and do not count).',
        },
        draining: { type: 'boolean' },
      },
    },
  },
};

const PROBE_SCHEMA = {
  type: 'object',
  description: 'Terminus health-check result.',
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: { type: 'object', additionalProperties: true },
    error: { type: 'object', additionalProperties: true },
    details: { type: 'object', additionalProperties: true },
  },
};

/**
 * Open operational routes: no key, no rate limit, no audit record. `/health/live` depends on
 * nothing but the event loop, so a dependency outage never makes Kubernetes restart the pod.
 */
@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Service health',
    description:
      '`degraded` (200) when Redis is down or some model has no available route; ' +
      '`unhealthy` (503) when Postgres is unreachable or the instance is draining.',
  })
  @ApiOkResponse({
    description: 'healthy or degraded',
    schema: { ...REPORT_SCHEMA, example: REPORT_EXAMPLE },
  })
  @ApiServiceUnavailableResponse({
    description: 'unhealthy (Retry-After: 5)',
    schema: {
      ...REPORT_SCHEMA,
      example: {
        ...REPORT_EXAMPLE,
        status: 'unhealthy',
        checks: { ...REPORT_EXAMPLE.checks, postgres: 'down' },
      },
    },
  })
  async report(@Res({ passthrough: true }) res: Response): Promise<HealthReport> {
    const report = await this.health.report();
    if (report.status === 'unhealthy') res.status(503).setHeader('Retry-After', RETRY_AFTER_S);
    return report;
  }

  @Get('live')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Kubernetes liveness',
    description:
      'The process answers. Never depends on Postgres, Redis or providers; 200 while draining.',
  })
  @ApiOkResponse({
    schema: {
      ...PROBE_SCHEMA,
      example: {
        status: 'ok',
        info: { process: { status: 'up', uptime_seconds: 42 } },
        error: {},
        details: { process: { status: 'up', uptime_seconds: 42 } },
      },
    },
  })
  live(): Record<string, unknown> {
    const process_ = { status: 'up', uptime_seconds: Math.floor(process.uptime()) };
    return { status: 'ok', info: { process: process_ }, error: {}, details: { process: process_ } };
  }

  @Get('ready')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Kubernetes readiness',
    description: 'Postgres and Redis reachable and the instance not draining; otherwise 503.',
  })
  @ApiOkResponse({
    schema: {
      ...PROBE_SCHEMA,
      example: {
        status: 'ok',
        info: { shutdown: { status: 'up' }, postgres: { status: 'up' }, redis: { status: 'up' } },
        error: {},
        details: {
          shutdown: { status: 'up' },
          postgres: { status: 'up' },
          redis: { status: 'up' },
        },
      },
    },
  })
  @ApiServiceUnavailableResponse({
    description: 'Not ready (Retry-After: 5)',
    schema: {
      ...PROBE_SCHEMA,
      example: {
        status: 'error',
        info: { shutdown: { status: 'up' }, postgres: { status: 'up' } },
        error: { redis: { status: 'down', message: 'connection reconnecting' } },
        details: {
          shutdown: { status: 'up' },
          postgres: { status: 'up' },
          redis: { status: 'down', message: 'connection reconnecting' },
        },
      },
    },
  })
  async ready(@Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    const { ready, result } = await this.health.readiness();
    if (!ready) res.status(503).setHeader('Retry-After', RETRY_AFTER_S);
    return result;
  }
}
