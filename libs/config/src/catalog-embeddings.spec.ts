import { parseCatalog } from './catalog.loader';

const catalog = (models: string, pricing: string) => `
providers:
  openai: {type: openai, base_url: "http://h/v1"}
  local: {type: openai-compatible, base_url: "http://l/v1"}
models:
${models}
pricing:
${pricing}
`;

describe('catalog: embedding models', () => {
  it('reads kind, an input-only price and dimensions; chat stays the default kind', () => {
    const { catalog: c, problems } = parseCatalog(
      catalog(
        `  small:
    kind: embedding
    routes:
      - {provider: openai, model: text-embedding-3-small}
      - {provider: local, model: nomic-embed-text}
  gpt-4o: [{provider: openai, model: gpt-4o}]`,
        `  openai/text-embedding-3-small: {input: 0.02, dimensions: 1536}
  local/nomic-embed-text: {input: 0, output: 0}
  openai/gpt-4o: {input: 2.50, output: 10.00}`,
      ),
      {},
    );
    expect(problems).toEqual([]);
    const small = c.models.get('small')!;
    expect(small.kind).toBe('embedding');
    expect(small.routes[0]).toMatchObject({
      dimensions: 1536,
      price: { input: 200, output: 0, inputPerMillion: '0.02', outputPerMillion: '0' },
    });
    expect(small.routes[1].dimensions).toBeUndefined();
    expect(c.models.get('gpt-4o')!.kind).toBe('chat');
  });

  it('refuses an embedding route without a price, as for chat', () => {
    const { problems } = parseCatalog(
      catalog(`  small: {kind: embedding, routes: [{provider: openai, model: e}]}`, `  {}`),
      {},
    );
    expect(problems).toEqual([
      'models.small[0]: no price for openai/e in pricing (refusing a silent $0)',
    ]);
  });

  it('refuses output tokens on an embedding price and a chat price without output', () => {
    const { problems } = parseCatalog(
      catalog(
        `  small: {kind: embedding, routes: [{provider: openai, model: e}]}
  other: {kind: embedding, routes: [{provider: openai, model: e}]}
  big: {kind: embedding, routes: [{provider: local, model: f}]}
  chat: [{provider: openai, model: c}]`,
        `  openai/e: {input: 0.02, output: 0.01}
  local/f: {input: 0, max_output_tokens: 10}
  openai/c: {input: 1, dimensions: 8}`,
      ),
      {},
    );
    expect(problems).toEqual([
      // Reported once, although two aliases use the entry.
      'pricing.openai/e.output: an embedding model has no output tokens (omit output or set it to 0)',
      'pricing.local/f.max_output_tokens: an embedding model has no output tokens',
      'pricing.openai/c.output: missing price (USD per 1M tokens)',
    ]);
  });

  it('refuses an embedding route to Anthropic, which has no embeddings API', () => {
    const { problems } = parseCatalog(
      catalog(
        `  a: {kind: embedding, routes: [{provider: claude, model: e}]}`,
        `  claude/e: {input: 1}`,
      ).replace('providers:', 'providers:\n  claude: {type: anthropic, base_url: "http://a"}'),
      {},
    );
    expect(problems).toEqual(['models.a[0]: provider "claude" (anthropic) has no embeddings API']);
  });

  it('refuses an unknown kind and absurd dimensions', () => {
    const { problems } = parseCatalog(
      catalog(
        `  a: {kind: rerank, routes: [{provider: openai, model: e}]}
  b: {kind: embedding, routes: [{provider: openai, model: e}]}`,
        `  openai/e: {input: 0.02, dimensions: 1000000}`,
      ),
      {},
    );
    expect(problems).toEqual([
      'pricing.openai/e.dimensions: expected at most 65536',
      'models.a.kind: expected one of chat, embedding',
    ]);
  });
});
