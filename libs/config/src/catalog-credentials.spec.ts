import { parseCatalog } from './catalog.loader';

const catalog = (provider: string) => `
providers:
  p: ${provider}
models:
  m: [{provider: p, model: x}]
pricing:
  p/x: {input: 1, output: 2}
`;

function missing(provider: string, env: Record<string, string> = {}): string | null {
  const { catalog: parsed, problems } = parseCatalog(catalog(provider), env);
  expect(problems).toEqual([]);
  return parsed.providers.get('p')!.missingCredential;
}

describe('catalog: which providers lack credentials', () => {
  it('names the variable a hosted provider reads its key from when it expands to empty', () => {
    const openai = '{type: openai, base_url: "http://h/v1", api_key: "${OPENAI_API_KEY:-}"}';
    expect(missing(openai)).toBe('OPENAI_API_KEY');
    expect(missing(openai, { OPENAI_API_KEY: '' })).toBe('OPENAI_API_KEY');
    expect(missing(openai, { OPENAI_API_KEY: 'sk-live' })).toBeNull();
    const anthropic = '{type: anthropic, base_url: "http://h", api_key: "${ANTHROPIC_API_KEY:-}"}';
    expect(missing(anthropic)).toBe('ANTHROPIC_API_KEY');
  });

  it('names the catalog field when a hosted provider has no api_key at all', () => {
    expect(missing('{type: openai, base_url: "http://h/v1"}')).toBe(
      'providers.p.api_key in the catalog',
    );
    expect(missing('{type: anthropic, base_url: "http://h", api_key: ""}')).toBe(
      'providers.p.api_key in the catalog',
    );
  });

  it('a default in the catalog counts as a key', () => {
    expect(
      missing('{type: openai, base_url: "http://h/v1", api_key: "${OPENAI_API_KEY:-sk-dev}"}'),
    ).toBeNull();
  });

  it('an OpenAI-compatible server needs a key only when its entry reads one', () => {
    expect(missing('{type: openai-compatible, base_url: "http://h/v1"}')).toBeNull();
    expect(missing('{type: openai-compatible, base_url: "http://h/v1", api_key: ""}')).toBeNull();
    const vllm = '{type: openai-compatible, base_url: "http://h/v1", api_key: "${VLLM_API_KEY:-}"}';
    expect(missing(vllm)).toBe('VLLM_API_KEY');
    expect(missing(vllm, { VLLM_API_KEY: 'token' })).toBeNull();
  });

  it('mock never needs one', () => {
    expect(missing('{type: mock}')).toBeNull();
    expect(missing('{type: mock, api_key: "${NOTHING:-}"}')).toBeNull();
  });
});
