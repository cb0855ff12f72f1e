import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { GatewayConfigService, type ModelKind } from '@gateway/config';
import { AdminRoute } from '@gateway/tenancy';
import { type ProviderStatus, ProvidersService } from '@gateway/providers';

export interface CatalogRouteView {
  provider: string;
  model: string;
  /** USD per 1M tokens, exactly as in the catalog. */
  input_per_1m: number;
  output_per_1m: number;
  /** Chat routes: the reserved maximum output. */
  max_output_tokens?: number;
  /** Embedding routes: the declared vector length, or null. */
  dimensions?: number | null;
}

export interface CatalogModelView {
  model: string;
  kind: ModelKind;
  routes: CatalogRouteView[];
}

const PROVIDERS_EXAMPLE = {
  data: [
    {
      provider: 'openai',
      status: 'down',
      circuit: 'open',
      last_error: 'health check: connection: connection refused',
      last_checked_at: '2026-01-15T10:21:04.120Z',
    },
    {
      provider: 'anthropic',
      status: 'unconfigured',
      circuit: 'closed',
      last_error: 'unconfigured: set ANTHROPIC_API_KEY',
      last_checked_at: null,
    },
    { provider: 'mock', status: 'up', circuit: 'closed', last_error: null, last_checked_at: null },
  ],
};

const MODELS_EXAMPLE = {
  data: [
    {
      model: 'gpt-4o',
      kind: 'chat',
      routes: [
        {
          provider: 'openai',
          model: 'gpt-4o',
          input_per_1m: 2.5,
          output_per_1m: 10,
          max_output_tokens: 16384,
        },
        {
          provider: 'anthropic',
          model: 'claude-sonnet-4-5',
          input_per_1m: 3,
          output_per_1m: 15,
          max_output_tokens: 64000,
        },
      ],
    },
    {
      model: 'text-embedding-3-small',
      kind: 'embedding',
      routes: [
        {
          provider: 'openai',
          model: 'text-embedding-3-small',
          input_per_1m: 0.02,
          output_per_1m: 0,
          dimensions: 1536,
        },
      ],
    },
  ],
};

/** Operators' view of providers (health, circuit) and of the catalog in force. */
@ApiTags('admin: providers')
@Controller('api/v1/admin')
@AdminRoute()
export class ProvidersAdminController {
  private readonly catalogView: { data: CatalogModelView[] };

  constructor(
    private readonly providers: ProvidersService,
    config: GatewayConfigService,
  ) {
    // The catalog is immutable after boot: build its view once.
    this.catalogView = {
      data: [...config.catalog.models.values()].map((m) => ({
        model: m.alias,
        kind: m.kind,
        routes: m.routes.map((r) => ({
          provider: r.provider,
          model: r.model,
          input_per_1m: Number(r.price.inputPerMillion),
          output_per_1m: Number(r.price.outputPerMillion),
          ...(m.kind === 'chat'
            ? { max_output_tokens: r.price.maxOutputTokens }
            : { dimensions: r.dimensions ?? null }),
        })),
      })),
    };
  }

  @Get('providers')
  @ApiOperation({
    summary: "Each provider's health, circuit state and last error",
    description:
      '`status` comes from periodic health checks (and is `down` while the circuit is open); ' +
      '`unconfigured` means the provider needs an API key and has none: it is never probed or ' +
      'called, and `last_error` names the variable to set. ' +
      '`circuit` is this instance’s breaker, shared with the fleet through Redis. An outage shows ' +
      'here within 5 s with default settings.',
  })
  @ApiOkResponse({
    description: 'One row per catalog provider.',
    schema: {
      type: 'object',
      properties: {
        data: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              provider: { type: 'string' },
              status: { type: 'string', enum: ['up', 'down', 'unknown', 'unconfigured'] },
              circuit: { type: 'string', enum: ['closed', 'open', 'half_open'] },
              last_error: { type: 'string', nullable: true },
              last_checked_at: { type: 'string', format: 'date-time', nullable: true },
            },
          },
        },
      },
      example: PROVIDERS_EXAMPLE,
    },
  })
  listProviders(): { data: ProviderStatus[] } {
    return { data: this.providers.statuses() };
  }

  @Get('models')
  @ApiOperation({
    summary: 'The catalog in force: model aliases, routes in default order, prices',
    description: 'Prices are USD per 1,000,000 tokens as written in the catalog.',
  })
  @ApiOkResponse({
    description: 'Every model alias with its routes.',
    schema: {
      type: 'object',
      properties: {
        data: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              model: { type: 'string' },
              kind: { type: 'string', enum: ['chat', 'embedding'] },
              routes: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    provider: { type: 'string' },
                    model: { type: 'string' },
                    input_per_1m: { type: 'number' },
                    output_per_1m: { type: 'number' },
                    max_output_tokens: { type: 'integer', description: 'chat models' },
                    dimensions: {
                      type: 'integer',
                      nullable: true,
                      description: 'embedding models: the declared vector length',
                    },
                  },
                },
              },
            },
          },
        },
      },
      example: MODELS_EXAMPLE,
    },
  })
  listModels(): { data: CatalogModelView[] } {
    return this.catalogView;
  }
}
