// The `providers` section: connection, retry, health-check and circuit-breaker settings per
// upstream, with their defaults.
import { envNames } from './env-expand';
import { urlProblem } from './env-reader';
import type {
  CircuitBreakerConfig,
  HealthCheckConfig,
  ProviderConfig,
  ProviderType,
} from './config.types';
import { isRecord, nonNegativeInt, positiveInt } from './catalog-values';

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
const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerConfig = {
  failureThreshold: 5,
  failureRatio: 0.5,
  minRequests: 20,
  windowMs: 10_000,
  openMs: 1_000,
  maxOpenMs: 4_000,
};

/**
 * `unexpanded` is the providers node before expansion: it names the variables each `api_key`
 * reads.
 */
export function parseProviders(
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
