import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Response } from 'express';

/**
 * `GET /metrics` (PrometheusModule sets the path): the library's controller, re-declared only to
 * document it in OpenAPI. Open like the health routes (no key, so no key-based limit applies);
 * restrict it at the network if the tenant ids in its labels are sensitive in your deployment.
 */
@ApiTags('operations')
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'Process defaults plus the llm_gateway_* and gen_ai_client_* families (docs/api.md §8).',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text exposition format 0.0.4',
    schema: {
      type: 'string',
      example:
        '# HELP llm_gateway_requests_total Tenant completion requests by outcome.\n' +
        '# TYPE llm_gateway_requests_total counter\n' +
        'llm_gateway_requests_total{tenant="6f1c…",model="gpt-4o-mini",provider="openai",outcome="success"} 3\n',
    },
  })
  override index(@Res({ passthrough: true }) response: Response): Promise<string> {
    return super.index(response);
  }
}
