/**
 * Typed accessors over an environment map that collect every problem instead of stopping at the
 * first, so a bad deployment is fixed in one round.
 */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  required(name: string, check?: (v: string) => string | null): string {
    const value = this.raw(name);
    if (value === undefined) {
      this.problems.push(`${name}: required but not set`);
      return '';
    }
    const problem = check?.(value);
    if (problem) this.problems.push(`${name}: ${problem}`);
    return value;
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value.trim())) {
      this.problems.push(`${name}: expected a whole number, got "${value}"`);
      return fallback;
    }
    const n = Number(value.trim());
    if (n < min || n > max) {
      this.problems.push(`${name}: must be between ${min} and ${max}, got ${n}`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    this.problems.push(`${name}: expected true or false, got "${value}"`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${value}"`);
    return fallback;
  }

  url(name: string, fallback: string, protocols: readonly string[]): string {
    const value = this.string(name, fallback);
    const problem = urlProblem(value, protocols);
    if (problem) this.problems.push(`${name}: ${problem}`);
    return value;
  }
}

export function urlProblem(value: string, protocols: readonly string[]): string | null {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return `not a valid URL`;
  }
  if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
    return `expected a ${protocols.join(' or ')} URL, got ${parsed.protocol}`;
  }
  return null;
}
