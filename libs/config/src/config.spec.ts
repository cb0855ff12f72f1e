import { join } from 'node:path';
import {
  ConfigError,
  loadConfig,
  parseCatalog,
  redisUrlDatabase,
  redisUrlWithoutDatabase,
} from './index';

const ADMIN = 'a'.repeat(32);
const REPO_CATALOG = join(__dirname, '../../../config/gateway.yaml');

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('loads the shipped catalog with defaults', () => {
    const cfg = loadConfig({ ADMIN_API_KEY: ADMIN, GATEWAY_CONFIG: REPO_CATALOG });
    expect(cfg.server.port).toBe(8080);
    expect(cfg.server.host).toBe('0.0.0.0');
    expect(cfg.database.url).toBe('postgres://postgres@127.0.0.1:5432/llm_gateway');
    expect(cfg.redis.url).toBe('redis://127.0.0.1:6379');
    expect(cfg.server.maxBodyBytes).toBe(1_048_576);
    expect(cfg.server.keepAliveTimeoutMs).toBeGreaterThan(60_000);
    expect(cfg.catalog.providers.get('mock')?.type).toBe('mock');
    expect(cfg.catalog.models.get('gpt-4')?.routes.map((r) => r.provider)).toEqual([
      'openai',
      'anthropic',
    ]);
    // $30 per 1M tokens = 300000 units of 1e-10 USD per token.
    expect(cfg.catalog.models.get('gpt-4')?.routes[0].price.input).toBe(300_000);
  });

  it('reports every bad variable, one line each, naming it', () => {
    const problems = problemsOf(() =>
      loadConfig({
        ADMIN_API_KEY: 'short',
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        DB_MIGRATE_ON_BOOT: 'maybe',
        AUDIT_DURABILITY: 'sometimes',
        GATEWAY_CONFIG: REPO_CATALOG,
      }),
    );
    expect(problems).toHaveLength(5);
    for (const name of [
      'ADMIN_API_KEY',
      'PORT',
      'DATABASE_URL',
      'DB_MIGRATE_ON_BOOT',
      'AUDIT_DURABILITY',
    ]) {
      expect(problems.some((p) => p.startsWith(`${name}:`))).toBe(true);
    }
  });

  it('gives every Postgres call a deadline, under 5 s by default, and checks their order', () => {
    const base = { ADMIN_API_KEY: ADMIN, GATEWAY_CONFIG: REPO_CATALOG };
    const db = loadConfig(base).database;
    expect(db).toEqual(
      expect.objectContaining({
        connectTimeoutMs: 2_000,
        queryTimeoutMs: 2_500,
        statementTimeoutMs: 2_000,
        idleInTransactionTimeoutMs: 5_000,
        keepAliveIdleMs: 10_000,
      }),
    );
    expect(db.connectTimeoutMs + db.queryTimeoutMs).toBeLessThan(5_000);
    expect(
      loadConfig({ ...base, DB_QUERY_TIMEOUT_MS: '30000', DB_STATEMENT_TIMEOUT_MS: '25000' })
        .database.statementTimeoutMs,
    ).toBe(25_000);
    const problems = problemsOf(() =>
      loadConfig({
        ...base,
        DB_CONNECT_TIMEOUT_MS: 'soon',
        DB_QUERY_TIMEOUT_MS: '1000',
        DB_STATEMENT_TIMEOUT_MS: '5000',
      }),
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^DB_CONNECT_TIMEOUT_MS: /);
    expect(problems[1]).toMatch(/^DB_STATEMENT_TIMEOUT_MS: .*DB_QUERY_TIMEOUT_MS \(1000\)/);
  });

  it('requires ADMIN_API_KEY', () => {
    expect(problemsOf(() => loadConfig({ GATEWAY_CONFIG: REPO_CATALOG }))).toEqual([
      'ADMIN_API_KEY: required but not set',
    ]);
  });

  it('parses REDIS_CLUSTER_NODES', () => {
    const cfg = loadConfig({
      ADMIN_API_KEY: ADMIN,
      GATEWAY_CONFIG: REPO_CATALOG,
      REDIS_CLUSTER_NODES: 'a:7000, b:7001',
    });
    expect(cfg.redis.clusterNodes).toEqual([
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
    ]);
  });

  it('parses TRUSTED_PROXIES (empty by default) and names each bad entry', () => {
    const base = { ADMIN_API_KEY: ADMIN, GATEWAY_CONFIG: REPO_CATALOG };
    expect(loadConfig(base).auth.trustedProxies).toEqual([]);
    expect(
      loadConfig({ ...base, TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.5 ,fd00::/8' }).auth
        .trustedProxies,
    ).toEqual([
      { network: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { network: '192.168.1.5', prefix: 32, family: 'ipv4' },
      { network: 'fd00::', prefix: 8, family: 'ipv6' },
    ]);
    expect(
      problemsOf(() => loadConfig({ ...base, TRUSTED_PROXIES: '10.0.0.0/33, proxy.local, ::1/x' })),
    ).toEqual([
      'TRUSTED_PROXIES: "10.0.0.0/33" needs a prefix length between 0 and 32',
      'TRUSTED_PROXIES: "proxy.local" is not an IP address or CIDR block',
      'TRUSTED_PROXIES: "::1/x" needs a prefix length between 0 and 128',
    ]);
  });

  it('fails on an unreadable catalog', () => {
    const problems = problemsOf(() =>
      loadConfig({ ADMIN_API_KEY: ADMIN, GATEWAY_CONFIG: '/nonexistent.yaml' }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^GATEWAY_CONFIG: cannot read/);
  });
});

describe('the response cache database (REDIS_CACHE_DB)', () => {
  const load = (env: Record<string, string>) =>
    loadConfig({ ADMIN_API_KEY: ADMIN, GATEWAY_CONFIG: REPO_CATALOG, ...env });

  it.each([
    ['a URL without a database, nothing else', {}, 1],
    ['REDIS_URL naming database 0 (compose)', { REDIS_URL: 'redis://redis:6379/0' }, 1],
    [
      'REDIS_URL /0 with REDIS_CACHE_DB=1: the option, not the URL, decides',
      { REDIS_URL: 'redis://redis:6379/0', REDIS_CACHE_DB: '1' },
      1,
    ],
    [
      'REDIS_URL /2 with REDIS_CACHE_DB=5',
      { REDIS_URL: 'redis://redis:6379/2', REDIS_CACHE_DB: '5' },
      5,
    ],
    ['REDIS_URL ?db=3, default cache db', { REDIS_URL: 'redis://redis:6379?db=3' }, 1],
    ['a dedicated cache URL naming database 4', { REDIS_CACHE_URL: 'redis://cache:6379/4' }, 4],
    [
      'a dedicated cache URL and REDIS_CACHE_DB agreeing',
      { REDIS_CACHE_URL: 'redis://cache:6379/4', REDIS_CACHE_DB: '4' },
      4,
    ],
    ['a dedicated cache URL without a database', { REDIS_CACHE_URL: 'redis://cache:6379' }, 1],
  ])('%s → cache in DB %d', (_label, env, db) => {
    expect(load(env).cache.redisDb).toBe(db);
  });

  it('refuses a pair that puts the cache in the limiters database, in one line naming both', () => {
    expect(
      problemsOf(() => load({ REDIS_URL: 'redis://redis:6379/1', REDIS_CACHE_DB: '1' })),
    ).toEqual([
      "REDIS_CACHE_DB: 1 is also REDIS_URL's database: the cache needs its own (set REDIS_CACHE_DB to another, or REDIS_CACHE_URL)",
    ]);
    expect(problemsOf(() => load({ REDIS_URL: 'redis://redis:6379/1' }))).toEqual([
      "REDIS_CACHE_DB: 1 (the default) is also REDIS_URL's database: the cache needs its own (set REDIS_CACHE_DB to another, or REDIS_CACHE_URL)",
    ]);
  });

  it('refuses REDIS_CACHE_DB contradicting the database in REDIS_CACHE_URL', () => {
    expect(
      problemsOf(() => load({ REDIS_CACHE_URL: 'redis://cache:6379/2', REDIS_CACHE_DB: '3' })),
    ).toEqual(['REDIS_CACHE_DB: 3 contradicts the database in REDIS_CACHE_URL (2): set only one']);
  });

  it('ignores the database pair in cluster mode (there is only database 0)', () => {
    expect(problemsOf(() => load({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_CACHE_DB: '0' }))).toEqual(
      [],
    );
  });
});

describe('redis URL databases', () => {
  it.each([
    ['redis://h:6379', null],
    ['redis://h:6379/', null],
    ['redis://h:6379/7', 7],
    ['rediss://:pw@h:6380?db=2', 2],
    ['redis://h/x', null],
  ])('%s names database %s', (url, db) => {
    expect(redisUrlDatabase(url)).toBe(db);
  });

  it('strips the database and keeps credentials, TLS and other options', () => {
    expect(redisUrlWithoutDatabase('rediss://:p%40ss@h:6380/3?db=3&family=6')).toBe(
      'rediss://:p%40ss@h:6380?family=6',
    );
    expect(redisUrlWithoutDatabase('redis://h:6379/0')).toBe('redis://h:6379');
  });
});

describe('parseCatalog', () => {
  const base = (extra = '') => `
providers:
  openai: {type: openai, base_url: "\${OPENAI_BASE_URL:-https://api.openai.com/v1}", api_key: "\${OPENAI_API_KEY:-}"}
  mock: {type: mock}
models:
  gpt-4:
    - {provider: openai, model: gpt-4}
pricing:
  openai/gpt-4: {input: 30.00, output: 60.00}
${extra}`;

  it('expands ${VAR} and ${VAR:-default}', () => {
    const { catalog, problems } = parseCatalog(base(), {
      OPENAI_API_KEY: 'sk-x',
      OPENAI_BASE_URL: 'http://h:1/v1/',
    });
    expect(problems).toEqual([]);
    expect(catalog.providers.get('openai')).toMatchObject({
      apiKey: 'sk-x',
      baseUrl: 'http://h:1/v1',
    });
  });

  it('refuses a ${VAR} without default that is unset', () => {
    const { problems } = parseCatalog(
      'providers:\n  a: {type: openai, base_url: "${NOPE}"}\nmodels: {}\n',
      {},
    );
    expect(problems.some((p) => p.includes('${NOPE}'))).toBe(true);
  });

  it('refuses a route naming an unknown provider', () => {
    const { problems } = parseCatalog(
      base().replace('- {provider: openai, model: gpt-4}', '- {provider: azure, model: gpt-4}'),
      {},
    );
    expect(problems).toEqual(['models.gpt-4[0]: unknown provider "azure"']);
  });

  it('refuses a route without a price (no silent $0)', () => {
    const { problems } = parseCatalog(
      base().replace('openai/gpt-4: {input: 30.00, output: 60.00}', ''),
      {},
    );
    expect(problems).toEqual([
      'models.gpt-4[0]: no price for openai/gpt-4 in pricing (refusing a silent $0)',
    ]);
  });

  it.each([
    ['-1', /not a price/],
    ['0.00001', /at most 4 decimals/],
    ['"abc"', /not a price/],
    ['1e-7', /not a price/],
  ])('refuses a malformed price %s', (value, pattern) => {
    const { problems } = parseCatalog(base().replace('input: 30.00', `input: ${value}`), {});
    expect(
      problems.some((p) => p.startsWith('pricing.openai/gpt-4.input:') && pattern.test(p)),
    ).toBe(true);
  });

  it('refuses a non-http base_url and an unknown provider type', () => {
    const { problems } = parseCatalog(
      base().replace(
        'openai: {type: openai, base_url: "${OPENAI_BASE_URL:-https://api.openai.com/v1}"',
        'openai: {type: openai, base_url: "ftp://x"',
      ) + 'x: 1\n',
      {},
    );
    expect(problems.some((p) => p.startsWith('providers.openai.base_url:'))).toBe(true);
  });

  it('converts 4-decimal prices exactly', () => {
    const { catalog, problems } = parseCatalog(base().replace('input: 30.00', 'input: 0.0001'), {});
    expect(problems).toEqual([]);
    expect(catalog.models.get('gpt-4')?.routes[0].price.input).toBe(1);
  });

  it('reports invalid YAML in one line', () => {
    const { problems } = parseCatalog('providers: [unclosed', {});
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/invalid YAML/);
  });
});
