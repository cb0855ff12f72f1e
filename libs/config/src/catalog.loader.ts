import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { envNames, expandEnv } from './env-expand';
import { urlProblem } from './env-reader';
import type {
  Catalog,
  CircuitBreakerConfig,
  HealthCheckConfig,
  ModelConfig,
  ModelKind,
  ModelPrice,
  ProviderConfig,
  ProviderType,
  RouteConfig,
} from './config.types';

const PROVIDER_TYPES: readonly ProviderType[] = [
  'openai',
  'anthropic',
  'openai-compatible',
  'mock',
];
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_RETRIES = 1;
const DEFAULT_HEALTH_INTERVAL_MS = 5_000;
const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const DEFAULT_MAX_OUTPUT_TOKENS = 4_096;
const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerConfig = {
  failureThreshold: 5,
  failureRatio: 0.5,
  minRequests: 20,
  windowMs: 10_000,
  openMs: 1_000,
  maxOpenMs: 4_000,
};
/** Four decimals per 1M tokens = units of 1e-10 USD per token (see PricePerToken). */
const PRICE_PATTERN = /^(\d{1,7})(?:\.(\d{1,4}))?$/;
const MODEL_KINDS: readonly ModelKind[] = ['chat', 'embedding'];
/** Far above any embedding model's vector length; catches a typo'd extra digit. */
const MAX_DIMENSIONS = 65_536;

/**
 * A `pricing` entry as written. Which fields it must have depends on the kind of the models whose
 * routes use it, known only once the models are read: a chat route needs `output`, an embedding
 * route has no output tokens and may declare `dimensions`.
 */
interface PriceEntry {
  readonly at: string;
  readonly price: ModelPrice;
  readonly hasOutput: boolean;
  readonly hasMaxOutputTokens: boolean;
  readonly dimensions: number | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads, expands and validates the catalog file; every problem is one line. */
export function loadCatalogFile(path: string, env: Env): { catalog: Catalog; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return {
      catalog: emptyCatalog(),
      problems: [`GATEWAY_CONFIG: cannot read ${path}: ${reason}`],
    };
  }
  return parseCatalog(text, env, path);
}

export function parseCatalog(
  text: string,
  env: Env,
  source = 'catalog',
): { catalog: Catalog; problems: string[] } {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return {
      catalog: emptyCatalog(),
      problems: [...problems, `${source}: invalid YAML: ${reason}`],
    };
  }
  if (!isRecord(doc)) {
    return {
      catalog: emptyCatalog(),
      problems: [`${source}: expected a mapping at the top level`],
    };
  }
  // Expand in parsed string values only, so comments and keys are never rewritten.
  const missing = new Set<string>();
  const expanded = expandValues(doc, (v) => expandEnv(v, env, (name) => missing.add(name)));
  for (const name of missing) problems.push(`${source}: \${${name}} is not set and has no default`);
  if (!isRecord(expanded)) return { catalog: emptyCatalog(), problems };

  const providers = parseProviders(expanded.providers, doc.providers, problems);
  const prices = parsePricing(expanded.pricing, problems);
  const models = parseModels(expanded.models, providers, prices, problems);
  return { catalog: { providers, models }, problems };
}

/** `raw` is the providers node before expansion: it names the variables each `api_key` reads. */
function parseProviders(
  node: unknown,
  unexpanded: unknown,
  problems: string[],
): Map<string, ProviderConfig> {
  const out = new Map<string, ProviderConfig>();
  if (!isRecord(node) || Object.keys(node).length === 0) {
    problems.push('providers: at least one provider is required');
    return out;
  }
  for (const [name, raw] of Object.entries(node)) {
    const at = `providers.${name}`;
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) {
      problems.push(`${at}: provider names are lowercase letters, digits, '-' and '_'`);
      continue;
    }
    if (!isRecord(raw)) {
      problems.push(`${at}: expected a mapping`);
      continue;
    }
    const type = raw.type as ProviderType;
    if (!PROVIDER_TYPES.includes(type)) {
      problems.push(`${at}.type: expected one of ${PROVIDER_TYPES.join(', ')}`);
      continue;
    }
    let baseUrl: string | null = null;
    if (type !== 'mock') {
      const url = typeof raw.base_url === 'string' ? raw.base_url.trim() : '';
      const problem = url === '' ? 'required' : baseUrlProblem(url);
      if (problem) problems.push(`${at}.base_url: ${problem}`);
      baseUrl = url.replace(/\/+$/, '');
    }
    const timeoutMs = positiveInt(raw.timeout_ms, DEFAULT_TIMEOUT_MS, `${at}.timeout_ms`, problems);
    const apiKey = typeof raw.api_key === 'string' ? raw.api_key : '';
    const before = isRecord(unexpanded) ? unexpanded[name] : undefined;
    const keyTemplate =
      isRecord(before) && typeof before.api_key === 'string' ? before.api_key : '';
    out.set(name, {
      name,
      type,
      baseUrl,
      apiKey,
      missingCredential: missingCredential(name, type, apiKey, keyTemplate),
      timeoutMs,
      deadlineMs: positiveInt(raw.deadline_ms, timeoutMs, `${at}.deadline_ms`, problems),
      maxRetries: nonNegativeInt(
        raw.max_retries,
        DEFAULT_MAX_RETRIES,
        `${at}.max_retries`,
        problems,
      ),
      healthCheck: parseHealthCheck(raw.health_check, type, `${at}.health_check`, problems),
      latencyMs: nonNegativeInt(raw.latency_ms, 0, `${at}.latency_ms`, problems),
      maxResponseBytes: positiveInt(
        raw.max_response_bytes,
        DEFAULT_MAX_RESPONSE_BYTES,
        `${at}.max_response_bytes`,
        problems,
      ),
      circuitBreaker: parseCircuitBreaker(raw.circuit_breaker, `${at}.circuit_breaker`, problems),
    });
  }
  return out;
}

/**
 * What an operator must set for a provider that needs an API key and has none (null: nothing).
 * Hosted providers always need one; an OpenAI-compatible server only when its catalog entry reads
 * a key from the environment (local servers usually take none); `mock` never.
 */
function missingCredential(
  name: string,
  type: ProviderType,
  apiKey: string,
  keyTemplate: string,
): string | null {
  if (apiKey !== '' || type === 'mock') return null;
  const variables = envNames(keyTemplate);
  if (type === 'openai-compatible' && variables.length === 0) return null;
  return variables.length > 0 ? variables.join(' or ') : `providers.${name}.api_key in the catalog`;
}

/** Provider base URLs are checked at boot: http(s), no credentials, no query or fragment. */
function baseUrlProblem(url: string): string | null {
  const problem = urlProblem(url, ['http', 'https']);
  if (problem) return problem;
  const parsed = new URL(url);
  if (parsed.username !== '' || parsed.password !== '') {
    return 'must not contain credentials (use api_key)';
  }
  if (parsed.search !== '' || parsed.hash !== '') return 'must not have a query or fragment';
  return null;
}

function parseCircuitBreaker(node: unknown, at: string, problems: string[]): CircuitBreakerConfig {
  const d = DEFAULT_CIRCUIT_BREAKER;
  if (node === undefined || node === null) return d;
  if (!isRecord(node)) {
    problems.push(`${at}: expected a mapping`);
    return d;
  }
  let failureRatio = d.failureRatio;
  if (node.failure_ratio !== undefined) {
    const r = node.failure_ratio;
    if (typeof r === 'number' && r > 0 && r <= 1) failureRatio = r;
    else problems.push(`${at}.failure_ratio: expected a number in (0, 1]`);
  }
  const openMs = positiveInt(node.open_ms, d.openMs, `${at}.open_ms`, problems);
  const maxOpenMs = positiveInt(
    node.max_open_ms,
    Math.max(openMs, d.maxOpenMs),
    `${at}.max_open_ms`,
    problems,
  );
  if (maxOpenMs < openMs) problems.push(`${at}.max_open_ms: must be ≥ open_ms`);
  return {
    failureThreshold: positiveInt(
      node.failure_threshold,
      d.failureThreshold,
      `${at}.failure_threshold`,
      problems,
    ),
    failureRatio,
    minRequests: positiveInt(node.min_requests, d.minRequests, `${at}.min_requests`, problems),
    windowMs: positiveInt(node.window_ms, d.windowMs, `${at}.window_ms`, problems),
    openMs,
    maxOpenMs,
  };
}

function parseHealthCheck(
  node: unknown,
  type: ProviderType,
  at: string,
  problems: string[],
): HealthCheckConfig | false {
  if (node === false || type === 'mock') return false;
  const defaultPath = type === 'anthropic' ? '/v1/models' : '/models';
  if (node === undefined || node === null || node === true) {
    return { path: defaultPath, intervalMs: DEFAULT_HEALTH_INTERVAL_MS };
  }
  if (!isRecord(node)) {
    problems.push(`${at}: expected false or {path, interval_ms}`);
    return false;
  }
  const path = typeof node.path === 'string' ? node.path : defaultPath;
  if (!path.startsWith('/')) problems.push(`${at}.path: must start with '/'`);
  return {
    path,
    intervalMs: positiveInt(
      node.interval_ms,
      DEFAULT_HEALTH_INTERVAL_MS,
      `${at}.interval_ms`,
      problems,
    ),
  };
}

function parsePricing(node: unknown, problems: string[]): Map<string, PriceEntry> {
  const out = new Map<string, PriceEntry>();
  if (node === undefined || node === null) return out;
  if (!isRecord(node)) {
    problems.push('pricing: expected a mapping of "provider/model" to {input, output}');
    return out;
  }
  for (const [key, raw] of Object.entries(node)) {
    const at = `pricing.${key}`;
    if (!isRecord(raw)) {
      problems.push(`${at}: expected {input, output}`);
      continue;
    }
    const input = parsePrice(raw.input, `${at}.input`, problems);
    const hasOutput = raw.output !== undefined && raw.output !== null;
    const output = hasOutput ? parsePrice(raw.output, `${at}.output`, problems) : null;
    const maxOutputTokens = positiveInt(
      raw.max_output_tokens,
      DEFAULT_MAX_OUTPUT_TOKENS,
      `${at}.max_output_tokens`,
      problems,
    );
    const dimensions = positiveInt(raw.dimensions, 0, `${at}.dimensions`, problems);
    if (dimensions > MAX_DIMENSIONS) {
      problems.push(`${at}.dimensions: expected at most ${MAX_DIMENSIONS}`);
    }
    if (input && (output || !hasOutput)) {
      out.set(key, {
        at,
        price: {
          input: input.units,
          output: output?.units ?? 0,
          inputPerMillion: input.text,
          outputPerMillion: output?.text ?? '0',
          maxOutputTokens,
        },
        hasOutput,
        hasMaxOutputTokens: raw.max_output_tokens !== undefined && raw.max_output_tokens !== null,
        dimensions: dimensions > 0 ? dimensions : undefined,
      });
    }
  }
  return out;
}

/** USD per 1M tokens (≤ 4 decimals) → integer units of 1e-10 USD per token, by string arithmetic. */
export function parsePrice(
  value: unknown,
  at: string,
  problems: string[],
): { units: number; text: string } | null {
  const text = typeof value === 'number' ? numberToPlainString(value) : value;
  if (typeof text !== 'string' || text.trim() === '') {
    problems.push(`${at}: missing price (USD per 1M tokens)`);
    return null;
  }
  const m = PRICE_PATTERN.exec(text.trim());
  if (!m) {
    problems.push(
      `${at}: "${text}" is not a price: a non-negative number of USD per 1M tokens with at most 4 decimals`,
    );
    return null;
  }
  const units = Number(m[1]) * 10_000 + Number((m[2] ?? '').padEnd(4, '0'));
  return { units, text: text.trim() };
}

function numberToPlainString(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  // Shortest round-trip form; reject exponent forms rather than guess.
  return String(n);
}

function parseModels(
  node: unknown,
  providers: ReadonlyMap<string, ProviderConfig>,
  prices: ReadonlyMap<string, PriceEntry>,
  problems: string[],
): Map<string, ModelConfig> {
  const out = new Map<string, ModelConfig>();
  if (!isRecord(node) || Object.keys(node).length === 0) {
    problems.push('models: at least one model alias is required');
    return out;
  }
  // A pricing entry shared by several routes is reported once.
  const reported = new Set<string>();
  const report = (problem: string) => {
    if (reported.has(problem)) return;
    reported.add(problem);
    problems.push(problem);
  };
  for (const [alias, raw] of Object.entries(node)) {
    const at = `models.${alias}`;
    const list = Array.isArray(raw) ? raw : isRecord(raw) ? raw.routes : undefined;
    if (!Array.isArray(list) || list.length === 0) {
      problems.push(`${at}: expected a non-empty list of {provider, model} routes`);
      continue;
    }
    const kind = isRecord(raw) && raw.kind !== undefined ? raw.kind : 'chat';
    if (!MODEL_KINDS.includes(kind as ModelKind)) {
      problems.push(`${at}.kind: expected one of ${MODEL_KINDS.join(', ')}`);
      continue;
    }
    const routes: RouteConfig[] = [];
    list.forEach((entry: unknown, i: number) => {
      const here = `${at}[${i}]`;
      if (
        !isRecord(entry) ||
        typeof entry.provider !== 'string' ||
        typeof entry.model !== 'string'
      ) {
        problems.push(`${here}: expected {provider, model}`);
        return;
      }
      if (!providers.has(entry.provider)) {
        problems.push(`${here}: unknown provider "${entry.provider}"`);
        return;
      }
      if (kind === 'embedding' && providers.get(entry.provider)?.type === 'anthropic') {
        problems.push(`${here}: provider "${entry.provider}" (anthropic) has no embeddings API`);
        return;
      }
      const priced = prices.get(`${entry.provider}/${entry.model}`);
      if (!priced) {
        problems.push(
          `${here}: no price for ${entry.provider}/${entry.model} in pricing (refusing a silent $0)`,
        );
        return;
      }
      const problem = pricingProblem(priced, kind as ModelKind);
      if (problem) {
        report(problem);
        return;
      }
      const route: RouteConfig = {
        provider: entry.provider,
        model: entry.model,
        price: priced.price,
      };
      routes.push(
        priced.dimensions === undefined ? route : { ...route, dimensions: priced.dimensions },
      );
    });
    if (routes.length === list.length) out.set(alias, { alias, kind: kind as ModelKind, routes });
  }
  return out;
}

/** What a pricing entry lacks (or has too much of) for the kind of model a route serves. */
function pricingProblem(entry: PriceEntry, kind: ModelKind): string | null {
  if (kind === 'chat') {
    if (!entry.hasOutput) return `${entry.at}.output: missing price (USD per 1M tokens)`;
    if (entry.dimensions !== undefined) {
      return `${entry.at}.dimensions: only embedding models have dimensions`;
    }
    return null;
  }
  if (entry.price.output !== 0) {
    return `${entry.at}.output: an embedding model has no output tokens (omit output or set it to 0)`;
  }
  if (entry.hasMaxOutputTokens) {
    return `${entry.at}.max_output_tokens: an embedding model has no output tokens`;
  }
  return null;
}

function positiveInt(value: unknown, fallback: number, at: string, problems: string[]): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    problems.push(`${at}: expected a positive whole number`);
    return fallback;
  }
  return value;
}

function nonNegativeInt(value: unknown, fallback: number, at: string, problems: string[]): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    problems.push(`${at}: expected a whole number ≥ 0`);
    return fallback;
  }
  return value;
}

function expandValues(node: unknown, expand: (v: string) => string): unknown {
  if (typeof node === 'string') return expand(node);
  if (Array.isArray(node)) return node.map((n) => expandValues(n, expand));
  if (isRecord(node)) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, expandValues(v, expand)]));
  }
  return node;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function emptyCatalog(): Catalog {
  return { providers: new Map(), models: new Map() };
}
