// Small readers shared by the catalog parsers; each reports a bad value and falls back.

export function positiveInt(
  value: unknown,
  fallback: number,
  at: string,
  problems: string[],
): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    problems.push(`${at}: expected a positive whole number`);
    return fallback;
  }
  return value;
}

export function nonNegativeInt(
  value: unknown,
  fallback: number,
  at: string,
  problems: string[],
): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    problems.push(`${at}: expected a whole number ≥ 0`);
    return fallback;
  }
  return value;
}

export function expandValues(node: unknown, expand: (v: string) => string): unknown {
  if (typeof node === 'string') return expand(node);
  if (Array.isArray(node)) return node.map((n) => expandValues(n, expand));
  if (isRecord(node)) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, expandValues(v, expand)]));
  }
  return node;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
