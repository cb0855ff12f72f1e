import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { expandEnv } from './env-expand';
import type { Catalog, ModelConfig, ModelKind, ProviderConfig, RouteConfig } from './config.types';
import { type PriceEntry, parsePricing, pricingProblem } from './catalog-pricing';
import { parseProviders } from './catalog-providers';
import { expandValues, isRecord } from './catalog-values';

export { parsePrice } from './catalog-pricing';

const MODEL_KINDS: readonly ModelKind[] = ['chat', 'embedding'];

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

function emptyCatalog(): Catalog {
  return { providers: new Map(), models: new Map() };
}
