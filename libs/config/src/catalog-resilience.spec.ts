import { parseCatalog } from './catalog.loader';

const base = (provider: string) => `
providers:
  p: ${provider}
models:
  m: [{provider: p, model: x}]
pricing:
  p/x: {input: 1, output: 2}
`;

describe('catalog: provider resilience settings', () => {
  it('defaults the per-provider deadline to the attempt timeout and fills breaker defaults', () => {
    const { catalog, problems } = parseCatalog(
      base('{type: openai, base_url: "http://h/v1", timeout_ms: 1500}'),
      {},
    );
    expect(problems).toEqual([]);
    const p = catalog.providers.get('p')!;
    expect(p.deadlineMs).toBe(1500);
    expect(p.circuitBreaker).toEqual({
      failureThreshold: 5,
      failureRatio: 0.5,
      minRequests: 20,
      windowMs: 10_000,
      openMs: 1_000,
      maxOpenMs: 4_000,
    });
  });

  it('reads deadline_ms and circuit_breaker', () => {
    const { catalog, problems } = parseCatalog(
      base(`{type: openai, base_url: "http://h/v1", deadline_ms: 9000,
             circuit_breaker: {failure_threshold: 3, failure_ratio: 0.25, min_requests: 4,
                               window_ms: 5000, open_ms: 200, max_open_ms: 800}}`),
      {},
    );
    expect(problems).toEqual([]);
    const p = catalog.providers.get('p')!;
    expect(p.deadlineMs).toBe(9000);
    expect(p.circuitBreaker).toEqual({
      failureThreshold: 3,
      failureRatio: 0.25,
      minRequests: 4,
      windowMs: 5000,
      openMs: 200,
      maxOpenMs: 800,
    });
  });

  it('refuses bad breaker settings, one line each', () => {
    const { problems } = parseCatalog(
      base(`{type: openai, base_url: "http://h/v1",
             circuit_breaker: {failure_ratio: 1.5, open_ms: 500, max_open_ms: 100}}`),
      {},
    );
    expect(problems).toEqual([
      'providers.p.circuit_breaker.failure_ratio: expected a number in (0, 1]',
      'providers.p.circuit_breaker.max_open_ms: must be ≥ open_ms',
    ]);
  });

  it.each([
    ['http://user:secret@h/v1', 'must not contain credentials (use api_key)'],
    ['http://h/v1?key=abc', 'must not have a query or fragment'],
    ['ftp://h/v1', 'expected a http or https URL, got ftp:'],
  ])('refuses the base URL %s at boot', (url, problem) => {
    const { problems } = parseCatalog(base(`{type: openai, base_url: "${url}"}`), {});
    expect(problems).toEqual([`providers.p.base_url: ${problem}`]);
  });
});
