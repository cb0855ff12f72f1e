import { Injectable } from '@nestjs/common';
import {
  GatewayConfigService,
  type ModelConfig,
  type ModelKind,
  type RouteConfig,
} from '@gateway/config';
import type { AuditDraft, TenantContext } from '@gateway/context';
import { echoInput, GatewayError } from '@gateway/errors';
import type { ChatRequest, ChatResult, EmbeddingRequest, EmbeddingResult } from '@gateway/types';
import type { ChatStream } from './chat-stream';
import { ProviderCaller } from './provider-caller.service';
import { ProviderRegistry, type ProviderStatus } from './provider-registry.service';
import { type AttemptUsage, ProviderRouter } from './provider-router.service';

/**
 * The providers lib's facade: the catalog's models and routes as a tenant sees them, one completion
 * with retries, fallback and circuit breaking, and the providers' health for operators.
 */
@Injectable()
export class ProvidersService {
  /** Models with at least one route on a configured provider: the ones the gateway offers. */
  private readonly servable: readonly ModelConfig[];

  constructor(
    private readonly config: GatewayConfigService,
    private readonly registry: ProviderRegistry,
    private readonly router: ProviderRouter,
    private readonly caller: ProviderCaller,
  ) {
    // Whether a provider is configured is fixed at boot (its key), so this list is too.
    this.servable = [...config.catalog.models.values()].filter((m) =>
      m.routes.some((r) => registry.configured(r.provider)),
    );
  }

  model(alias: string): ModelConfig | undefined {
    return this.config.catalog.models.get(alias);
  }

  /**
   * The models this tenant may use (`allowed_models`; null means all) that the gateway can serve,
   * in catalog order. A model whose every route is on an unconfigured provider (no API key) is
   * left out: listing it would invite requests that can only get a 503. Requests naming it are
   * still accepted, and get a 503 that says which key to set.
   */
  modelsFor(tenant: TenantContext): ModelConfig[] {
    const allowed = tenant.allowedModels;
    return allowed === null
      ? [...this.servable]
      : this.servable.filter((m) => allowed.includes(m.alias));
  }

  /**
   * The model's routes in the order this tenant's calls try them: providers named in
   * `provider_preferences` first, in that order; the rest keep the catalog's order.
   */
  routesFor(tenant: TenantContext, model: ModelConfig): RouteConfig[] {
    const prefs = tenant.providerPreferences;
    if (prefs.length === 0) return [...model.routes];
    const rank = (r: RouteConfig) => {
      const i = prefs.indexOf(r.provider);
      return i === -1 ? prefs.length : i;
    };
    // Array.prototype.sort is stable: routes of equal rank keep the catalog's order.
    return [...model.routes].sort((a, b) => rank(a) - rank(b));
  }

  /**
   * One completion along the tenant's routes. Every attempt is appended to `draft.attempts`; on
   * success `draft.provider`, `providerModel` and `upstreamLatencyMs` are set. Throws GatewayError:
   * `upstream_bad_request` (400, no fallback), `all_providers_failed` (502), `upstream_timeout`
   * (504, every call timed out or the caller gave up), `no_provider_available` (503, every
   * circuit open).
   */
  complete(
    tenant: TenantContext,
    model: ModelConfig,
    request: ChatRequest,
    draft: AuditDraft,
    signal?: AbortSignal,
  ): Promise<{ result: ChatResult; route: RouteConfig; upstreamNs: bigint }> {
    return this.router.complete(this.routesFor(tenant, model), request, draft, signal);
  }

  /**
   * The alias a request names, for an endpoint serving `kind`: 404 `model_not_found` when unknown,
   * 403 `model_not_allowed` when the tenant may not use it, 400 naming `model` when it is of the
   * other kind (a chat request to an embedding model, or the reverse).
   */
  resolveModel(tenant: TenantContext, alias: string, kind: ModelKind): ModelConfig {
    const model = this.model(alias);
    if (!model) {
      throw new GatewayError('model_not_found', `The model '${echoInput(alias)}' does not exist.`, {
        param: 'model',
      });
    }
    if (tenant.allowedModels !== null && !tenant.allowedModels.includes(alias)) {
      throw new GatewayError(
        'model_not_allowed',
        `This key may not use the model '${echoInput(alias)}'.`,
        {
          param: 'model',
        },
      );
    }
    if (model.kind !== kind) {
      throw new GatewayError(
        'invalid_request',
        model.kind === 'embedding'
          ? `The model '${alias}' is an embedding model: use POST /v1/embeddings.`
          : `The model '${alias}' is a chat model: embeddings need an embedding model.`,
        { param: 'model' },
      );
    }
    return model;
  }

  /**
   * Embeddings along the tenant's routes, through the router's one retry/fallback/breaker loop
   * (operation `embeddings` in the metrics); attempts and errors as for `complete`.
   */
  async embed(
    tenant: TenantContext,
    model: ModelConfig,
    request: EmbeddingRequest,
    draft: AuditDraft,
    signal?: AbortSignal,
  ): Promise<{ result: EmbeddingResult; route: RouteConfig; upstreamNs: bigint }> {
    const { value, route, upstreamNs } = await this.router.run(
      this.routesFor(tenant, model),
      draft,
      {
        operation: 'embeddings',
        attempt: (provider, r, timeoutMs, s) =>
          this.caller.embed(provider, r, request, timeoutMs, s),
        usage: (result) => ({
          providerModel: result.providerModel,
          promptTokens: result.promptTokens,
          completionTokens: 0,
        }),
      },
      signal,
    );
    return { result: value, route, upstreamNs };
  }

  /**
   * Opens a streamed completion along the tenant's routes, with the same retries, fallback and
   * breakers as `complete`: an attempt succeeds when the provider's first event arrives, so a
   * provider failing before that is replaced by the next route. The caller reads the stream to its
   * end (then reports its usage with `recordStreamUsage`) or closes it; `signal` closes it too.
   */
  async openStream(
    tenant: TenantContext,
    model: ModelConfig,
    request: ChatRequest,
    draft: AuditDraft,
    signal?: AbortSignal,
  ): Promise<{ stream: ChatStream; route: RouteConfig; upstreamNs: bigint }> {
    const { value, route, upstreamNs } = await this.router.run(
      this.routesFor(tenant, model),
      draft,
      {
        operation: 'chat',
        attempt: (provider, r, timeoutMs, s) =>
          this.caller.openStream(provider, r, request, timeoutMs, s),
        usage: () => null,
      },
      signal,
    );
    return { stream: value, route, upstreamNs };
  }

  /** The token-usage metrics of a stream, known only at its end. */
  recordStreamUsage(route: RouteConfig, usage: AttemptUsage): void {
    this.router.recordTokens('chat', route, usage);
  }

  statuses(): ProviderStatus[] {
    return this.registry.statuses();
  }

  /**
   * True when some model the gateway offers has no route that could serve a request now
   * (`/health` degraded), or when it offers none at all. Models whose routes are all on
   * unconfigured providers are not offered, so a missing key alone never degrades health.
   */
  isDegraded(): boolean {
    if (this.servable.length === 0) return true;
    const now = Date.now();
    return this.servable.some(
      (m) => !m.routes.some((r) => this.registry.available(r.provider, now)),
    );
  }
}
