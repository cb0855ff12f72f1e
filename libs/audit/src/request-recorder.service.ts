import { Injectable, Logger } from '@nestjs/common';
import { unitsToUsd } from '@gateway/billing';
import { GatewayConfigService } from '@gateway/config';
import { markStage, type Outcome, type RequestContext, type TenantContext } from '@gateway/context';
import type { MappedError } from '@gateway/errors';
import { GatewayMetrics } from '@gateway/observability';
import type { AuditRecord } from './audit-record';
import { AuditWriter } from './audit-writer.service';

/** Model names are client input on failed requests: keep the column bounded. */
const MAX_MODEL_CHARS = 256;

/**
 * The one place a tenant request becomes a record and its request metrics: called by the
 * interceptor for answers and by the error observer for failures, so each request is counted
 * and recorded exactly once.
 */
@Injectable()
export class RequestRecorder {
  private readonly logger = new Logger('Audit');
  // Requests whose record committed; weak, so it holds nothing after the request is gone.
  private readonly recorded = new WeakSet<RequestContext>();

  constructor(
    private readonly writer: AuditWriter,
    private readonly metrics: GatewayMetrics,
    private readonly config: GatewayConfigService,
  ) {}

  /**
   * Records a handled request; resolves once the record is durable (sync mode) and the request's
   * other pending work has finished. Rejects with 503 `dependency_unavailable` if the record
   * could not be written; the error path then records the failure instead.
   */
  async recordSuccess(
    ctx: RequestContext,
    tenant: TenantContext,
    statusCode: number,
  ): Promise<void> {
    // A stream is recorded by its handler before its end is written; the interceptor comes after.
    if (this.recorded.has(ctx)) return;
    // A stream that answers 200 may still have failed (or lost its client) after its first byte.
    const record = this.build(
      ctx,
      tenant,
      statusCode,
      ctx.audit.outcome ?? 'success',
      ctx.audit.errorCode,
    );
    await this.commit(ctx, record);
    this.observe(ctx, record);
  }

  /** Records a request that ended in an error response, unless its record already committed. */
  async recordFailure(
    ctx: RequestContext,
    tenant: TenantContext,
    error: MappedError,
  ): Promise<void> {
    if (this.recorded.has(ctx)) return;
    const record = this.build(ctx, tenant, error.status, error.outcome, error.code);
    this.observe(ctx, record);
    await this.commit(ctx, record);
  }

  private async commit(ctx: RequestContext, record: AuditRecord): Promise<void> {
    const [write] = await Promise.allSettled([this.writer.write(record), this.awaitPending(ctx)]);
    if (write.status === 'rejected') throw write.reason;
    this.recorded.add(ctx);
    markStage(ctx, 'record');
  }

  private async awaitPending(ctx: RequestContext): Promise<void> {
    if (ctx.pending.length === 0) return;
    const results = await Promise.allSettled(ctx.pending);
    for (const r of results) {
      if (r.status === 'rejected') {
        // Not the client's problem and the record is fine: surface it for the owner of the work.
        const err: unknown = r.reason;
        this.logger.warn({ err, requestId: ctx.requestId }, 'request follow-up work failed');
      }
    }
  }

  private build(
    ctx: RequestContext,
    tenant: TenantContext,
    statusCode: number,
    outcome: Outcome,
    errorCode: string | null,
  ): AuditRecord {
    const a = ctx.audit;
    return {
      requestId: ctx.requestId,
      tenantId: tenant.tenantId,
      apiKeyId: tenant.apiKeyId,
      createdAt: new Date(),
      endpoint: ctx.endpoint,
      model: a.model === null ? null : a.model.slice(0, MAX_MODEL_CHARS),
      provider: a.provider,
      providerModel: a.providerModel,
      statusCode,
      outcome,
      promptTokens: a.promptTokens,
      completionTokens: a.completionTokens,
      costUnits: a.costUnits,
      costSavedUnits: a.costSavedUnits,
      latencyMs: Number((process.hrtime.bigint() - ctx.startedAt) / 1_000_000n),
      upstreamLatencyMs: a.upstreamLatencyMs,
      cached: a.cached,
      attempts: a.attempts,
      errorCode,
    };
  }

  private observe(ctx: RequestContext, r: AuditRecord): void {
    const m = this.metrics;
    const catalog = this.config.catalog;
    // Labels stay bounded: only catalog names, never what the client typed.
    const model = r.model !== null && catalog.models.has(r.model) ? r.model : 'none';
    const provider = r.provider !== null && catalog.providers.has(r.provider) ? r.provider : 'none';
    const tenant = r.tenantId;
    const totalNs = process.hrtime.bigint() - ctx.startedAt;
    const overheadNs = totalNs > ctx.upstreamNs ? totalNs - ctx.upstreamNs : 0n;
    m.requestsTotal.inc({ tenant, model, provider, outcome: r.outcome });
    m.requestDuration.observe({ outcome: r.outcome }, Number(totalNs) / 1e9);
    m.overhead.observe(Number(overheadNs) / 1e9);
    // Billed work only: a cache hit's tokens were paid for by the request that stored them.
    if (provider !== 'none' && !r.cached) {
      m.tokensTotal.inc({ tenant, provider, model, type: 'input' }, r.promptTokens);
      m.tokensTotal.inc({ tenant, provider, model, type: 'output' }, r.completionTokens);
      m.costUsdTotal.inc({ tenant, provider, model }, unitsToUsd(r.costUnits));
    }
  }
}
