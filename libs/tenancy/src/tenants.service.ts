import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, type Repository } from 'typeorm';
import { GatewayConfigService } from '@gateway/config';
import { echoInput, GatewayError } from '@gateway/errors';
import { ApiKeyEntity } from './api-key.entity';
import { apiKeyDigestId, displayPrefix, generateApiKey, hashApiKey } from './api-key';
import { AuthFailureThrottle } from './auth-failure-throttle.service';
import type { CreateTenantDto } from './dto/create-tenant.dto';
import type { UpdateTenantDto } from './dto/update-tenant.dto';
import { budgetUsdToUnits } from './money-input';
import { TenantChangeNotifier } from './tenant-change-notifier.service';
import { DEFAULT_ALERT_THRESHOLDS, TenantEntity } from './tenant.entity';
import { webhookUrlProblem } from './webhook-target';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Postgres's text form of a timestamptz (`2026-01-05 10:00:00.123456+00`). */
const PG_TIMESTAMP =
  /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2}){0,2}|Z)$/;

/** A key as issued: `key` is the only time the plaintext exists outside the caller. */
export interface IssuedKey {
  readonly id: string;
  readonly key: string;
  readonly createdAt: Date;
}

export interface TenantPage {
  readonly tenants: TenantEntity[];
  readonly nextCursor: string | null;
}

type TenantSettings = Omit<CreateTenantDto, 'name' | 'rate_limit' | 'monthly_budget'> &
  Partial<Pick<CreateTenantDto, 'name' | 'rate_limit' | 'monthly_budget'>>;

/**
 * Facade of the tenancy lib: tenants and their keys. Every write that can change what a key
 * authenticates to publishes a tenant change, so every instance drops its cached copy.
 */
@Injectable()
export class TenantsService {
  constructor(
    config: GatewayConfigService,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(TenantEntity) private readonly tenants: Repository<TenantEntity>,
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    private readonly notifier: TenantChangeNotifier,
    private readonly authThrottle: AuthFailureThrottle,
  ) {
    this.catalog = config.catalog;
    this.allowPrivateWebhooks = config.config.admission.alertWebhookAllowPrivate;
  }

  private readonly catalog: GatewayConfigService['catalog'];
  private readonly allowPrivateWebhooks: boolean;

  /** Creates a tenant and its first key in one transaction. */
  async create(input: CreateTenantDto): Promise<{ tenant: TenantEntity; key: IssuedKey }> {
    const tenant = this.tenants.create({
      id: randomUUID(),
      name: input.name.trim(),
      rateLimit: input.rate_limit,
      monthlyBudgetUnits: null,
      tokensPerMinute: null,
      providerPreferences: [],
      allowedModels: null,
      cacheTtlSeconds: null,
      alertThresholds: [...DEFAULT_ALERT_THRESHOLDS],
      alertWebhookUrl: null,
      alertWebhookSecret: null,
      disabledAt: null,
    });
    this.apply(tenant, input);
    const plaintext = generateApiKey('tenant');
    const created = await this.dataSource.transaction(async (em) => {
      const saved = await em.save(TenantEntity, tenant);
      const key = await em.save(ApiKeyEntity, this.newKeyRow(saved.id, plaintext));
      return { tenant: saved, key: { id: key.id, key: plaintext, createdAt: key.createdAt } };
    });
    this.keyIssued(plaintext);
    await this.notifier.publish(created.tenant.id);
    return created;
  }

  /** Newest first; `cursor` is the opaque `next_cursor` of the previous page. */
  async list(opts: { limit?: number; cursor?: string }): Promise<TenantPage> {
    const limit = Math.min(Math.max(opts.limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
    const qb = this.tenants
      .createQueryBuilder('t')
      // The cursor carries Postgres's own text of created_at: microseconds survive the round trip.
      .addSelect('t.created_at::text', 'cursor_ts')
      .orderBy('t.created_at', 'DESC')
      .addOrderBy('t.id', 'DESC')
      .limit(limit + 1);
    if (opts.cursor !== undefined) {
      const { ts, id } = decodeCursor(opts.cursor);
      qb.where('(t.created_at, t.id) < (CAST(:ts AS timestamptz), CAST(:id AS uuid))', { ts, id });
    }
    const { entities, raw } = await qb.getRawAndEntities<{ cursor_ts: string }>();
    if (entities.length <= limit) return { tenants: entities, nextCursor: null };
    const page = entities.slice(0, limit);
    const last = page[page.length - 1];
    return { tenants: page, nextCursor: encodeCursor(raw[limit - 1].cursor_ts, last.id) };
  }

  /** The tenant, or 404 not_found (also for a malformed id). */
  async requireTenant(tenantId: string): Promise<TenantEntity> {
    const tenant = UUID.test(tenantId) ? await this.tenants.findOneBy({ id: tenantId }) : null;
    if (!tenant) throw new GatewayError('not_found', `Tenant '${echoInput(tenantId)}' not found.`);
    return tenant;
  }

  async exists(tenantId: string): Promise<boolean> {
    return UUID.test(tenantId) && (await this.tenants.existsBy({ id: tenantId }));
  }

  /** Applies a partial update (absent = unchanged, null clears); bumps `version`. */
  async update(tenantId: string, patch: UpdateTenantDto): Promise<TenantEntity> {
    const tenant = await this.requireTenant(tenantId);
    this.apply(tenant, patch);
    if (patch.disabled !== undefined) {
      tenant.disabledAt = patch.disabled ? (tenant.disabledAt ?? new Date()) : null;
    }
    const saved = await this.tenants.save(tenant);
    await this.notifier.publish(tenantId);
    return saved;
  }

  /** Disables the tenant (idempotent): its keys are refused everywhere within 1 s. */
  async disable(tenantId: string): Promise<void> {
    const tenant = await this.requireTenant(tenantId);
    if (tenant.disabledAt === null) {
      tenant.disabledAt = new Date();
      await this.tenants.save(tenant);
    }
    await this.notifier.publish(tenantId);
  }

  /** Issues another key for rotation; the old ones keep working until revoked. */
  async issueKey(tenantId: string): Promise<IssuedKey> {
    await this.requireTenant(tenantId);
    const plaintext = generateApiKey('tenant');
    const row = await this.keys.save(this.newKeyRow(tenantId, plaintext));
    this.keyIssued(plaintext);
    await this.notifier.publish(tenantId);
    return { id: row.id, key: plaintext, createdAt: row.createdAt };
  }

  /** The tenant's keys, newest first (prefixes only). */
  async listKeys(tenantId: string): Promise<ApiKeyEntity[]> {
    await this.requireTenant(tenantId);
    return this.keys.find({
      where: { tenantId },
      order: { createdAt: 'DESC', id: 'DESC' },
    });
  }

  /** Revokes one of the tenant's keys (idempotent); another tenant's key id is 404. */
  async revokeKey(tenantId: string, keyId: string): Promise<void> {
    await this.requireTenant(tenantId);
    const notFound = new GatewayError('not_found', `Key '${echoInput(keyId)}' not found.`);
    if (!UUID.test(keyId)) throw notFound;
    const result = await this.keys.update(
      { id: keyId, tenantId, revokedAt: IsNull() },
      { revokedAt: () => 'now()' },
    );
    if (!result.affected && !(await this.keys.existsBy({ id: keyId, tenantId }))) throw notFound;
    await this.notifier.publish(tenantId);
  }

  /**
   * A new key must work at once from a client the failed-authentication throttle is refusing
   * (and every instance must forget having seen it as unknown: the tenant-change message).
   */
  private keyIssued(plaintext: string): void {
    this.authThrottle.vouch(apiKeyDigestId(plaintext));
  }

  private newKeyRow(tenantId: string, plaintext: string): ApiKeyEntity {
    return this.keys.create({
      id: randomUUID(),
      tenantId,
      keyHash: hashApiKey(plaintext),
      prefix: displayPrefix(plaintext),
      revokedAt: null,
    });
  }

  /** Validates the catalog references and money of `input`, then copies the given fields. */
  private apply(t: TenantEntity, input: TenantSettings): void {
    if (input.provider_preferences !== undefined) {
      input.provider_preferences.forEach((name, i) => {
        if (!this.catalog.providers.has(name)) {
          const known = [...this.catalog.providers.keys()].join(', ');
          throw new GatewayError(
            'invalid_request',
            `provider_preferences.${i}: unknown provider "${name}" (the catalog has: ${known}).`,
            { param: `provider_preferences.${i}` },
          );
        }
      });
      t.providerPreferences = [...input.provider_preferences];
    }
    if (input.allowed_models !== undefined) {
      input.allowed_models?.forEach((alias, i) => {
        if (!this.catalog.models.has(alias)) {
          throw new GatewayError(
            'invalid_request',
            `allowed_models.${i}: unknown model "${alias}" (see GET /api/v1/admin/models).`,
            { param: `allowed_models.${i}` },
          );
        }
      });
      t.allowedModels = input.allowed_models === null ? null : [...input.allowed_models];
    }
    if (input.name !== undefined) t.name = input.name.trim();
    if (input.rate_limit !== undefined) t.rateLimit = input.rate_limit;
    if (input.monthly_budget !== undefined) {
      t.monthlyBudgetUnits =
        input.monthly_budget === null
          ? null
          : budgetUsdToUnits(input.monthly_budget, 'monthly_budget');
    }
    if (input.tokens_per_minute !== undefined) t.tokensPerMinute = input.tokens_per_minute;
    if (input.cache_ttl_seconds !== undefined) t.cacheTtlSeconds = input.cache_ttl_seconds;
    if (input.alert_thresholds !== undefined) {
      t.alertThresholds = [...input.alert_thresholds].sort((a, b) => a - b);
    }
    if (input.alert_webhook_url !== undefined) {
      const url = input.alert_webhook_url;
      const problem = url === null ? null : webhookUrlProblem(url, this.allowPrivateWebhooks);
      if (problem !== null) {
        const hint = this.allowPrivateWebhooks
          ? ''
          : ' (set ALERT_WEBHOOK_ALLOW_PRIVATE=true to allow private targets)';
        throw new GatewayError(
          'invalid_request',
          `alert_webhook_url is refused: ${problem}${hint}.`,
          { param: 'alert_webhook_url' },
        );
      }
      t.alertWebhookUrl = url;
    }
    if (input.alert_webhook_secret !== undefined) t.alertWebhookSecret = input.alert_webhook_secret;
  }
}

function encodeCursor(ts: string, id: string): string {
  return Buffer.from(JSON.stringify({ c: ts, i: id }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { ts: string; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (parsed && typeof parsed === 'object') {
      const { c, i } = parsed as { c?: unknown; i?: unknown };
      if (typeof c === 'string' && typeof i === 'string' && UUID.test(i) && PG_TIMESTAMP.test(c)) {
        return { ts: c, id: i };
      }
    }
  } catch {
    // fall through: any undecodable cursor is the client's error
  }
  throw new GatewayError('invalid_request', 'cursor is not a valid next_cursor.', {
    param: 'cursor',
  });
}
