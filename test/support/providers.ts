/* A real ProvidersModule on the shared Redis, against fake upstreams: the providers integration tests. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule, type GatewayConfig, loadConfig } from '@gateway/config';
import { type AuditDraft, newAuditDraft, type TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics, ObservabilityModule } from '@gateway/observability';
import { type ChatRequest, ProvidersModule, ProvidersService } from '@gateway/providers';
import { RedisModule, RedisService } from '@gateway/redis';
import { SHARED_REDIS_URL as REDIS_URL } from './redis-keys';
import { tenantContext } from './tenant-context';
import { until } from './wait';

export { SHARED_REDIS_URL as REDIS_URL } from './redis-keys';

/** Provider keys the tests look for in every error and record: none may leak. */
export const PRIMARY_KEY = 'sk-primary-SECRET-0123456789abcdef';
export const SECONDARY_KEY = 'sk-ant-secondary-SECRET-fedcba9876543210';

export interface ProvidersInstance {
  service: ProvidersService;
  metrics: GatewayMetrics;
  redis: RedisService;
  config: GatewayConfig;
  app: INestApplicationContext;
  close(): Promise<void>;
}

export function uniquePrefix(label: string): string {
  return `tprov-${label}-${randomBytes(4).toString('hex')}:`;
}

/** Writes a catalog (with `${VAR}` expanded from `env`) and boots the providers lib on it. */
export async function startProviders(
  catalogYaml: string,
  env: Record<string, string>,
  prefix = uniquePrefix('p'),
): Promise<ProvidersInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'llmgw-prov-'));
  const file = join(dir, 'catalog.yaml');
  writeFileSync(file, catalogYaml);
  const config = loadConfig({
    ADMIN_API_KEY: 'a'.repeat(40),
    GATEWAY_CONFIG: file,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    ...env,
  });
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), ObservabilityModule, RedisModule, ProvidersModule],
  }).compile();
  const app = await moduleRef.init();
  return {
    service: app.get(ProvidersService),
    metrics: app.get(GatewayMetrics),
    redis: app.get(RedisService),
    config,
    app,
    close: () => app.close(),
  };
}

/** A tenant context (the router takes one per call). */
export const tenant = tenantContext;

export function chat(content = 'Hello, how are you?'): ChatRequest {
  return {
    messages: [{ role: 'user', content }],
    maxTokens: 50,
    temperature: null,
    topP: null,
    stop: null,
    presencePenalty: null,
    frequencyPenalty: null,
    seed: null,
    user: null,
  };
}

export interface Called {
  provider: string | null;
  draft: AuditDraft;
  error: GatewayError | null;
  ms: number;
}

/** One completion of `alias`; never throws, so tests can look at failures and records alike. */
export async function call(
  p: ProvidersInstance,
  alias = 'chat',
  t: TenantContext = tenant(),
  content?: string,
): Promise<Called> {
  const model = p.service.model(alias);
  if (!model) throw new Error(`no model ${alias}`);
  const draft = newAuditDraft();
  const t0 = Date.now();
  try {
    const { route } = await p.service.complete(t, model, chat(content), draft);
    return { provider: route.provider, draft, error: null, ms: Date.now() - t0 };
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    return { provider: null, draft, error: err, ms: Date.now() - t0 };
  }
}

export function circuitOf(p: ProvidersInstance, provider: string): string | undefined {
  return p.service.statuses().find((s) => s.provider === provider)?.circuit;
}

/** Polls `predicate` every `stepMs`; resolves with the milliseconds it took. */
export function waitFor(predicate: () => boolean, timeoutMs: number, stepMs = 25): Promise<number> {
  return until(predicate, timeoutMs, 'condition', stepMs);
}

/** Two providers in different wire formats behind one alias: OpenAI-type primary, Anthropic fallback. */
export function twoProviderCatalog(
  opts: {
    primary?: Record<string, unknown>;
    secondary?: Record<string, unknown>;
  } = {},
): string {
  const settings = (o: Record<string, unknown> = {}) =>
    Object.entries(o)
      .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
      .join('\n');
  return `
providers:
  primary:
    type: openai
    base_url: "\${PRIMARY_URL}/v1"
    api_key: "${PRIMARY_KEY}"
${settings(opts.primary)}
  secondary:
    type: anthropic
    base_url: "\${SECONDARY_URL}"
    api_key: "${SECONDARY_KEY}"
${settings(opts.secondary)}
models:
  chat:
    - {provider: primary, model: gpt-4o-mini}
    - {provider: secondary, model: claude-3-5-haiku-latest}
  chat-reversed:
    - {provider: secondary, model: claude-3-5-haiku-latest}
    - {provider: primary, model: gpt-4o-mini}
  primary-only:
    - {provider: primary, model: gpt-4o-mini}
pricing:
  primary/gpt-4o-mini: {input: 0.15, output: 0.60, max_output_tokens: 16384}
  secondary/claude-3-5-haiku-latest: {input: 0.80, output: 4.00, max_output_tokens: 8192}
`;
}
