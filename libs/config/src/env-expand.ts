const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Expands `${VAR}` and `${VAR:-default}` in a string. An unset `${VAR}` without a default is a
 * problem (reported by the caller), not a silent empty string.
 */
export function expandEnv(
  input: string,
  env: Readonly<Record<string, string | undefined>>,
  missing: (name: string) => void,
): string {
  return input.replace(PLACEHOLDER, (_m, name: string, fallback: string | undefined) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    missing(name);
    return '';
  });
}

/** The variables a string reads (`${VAR}`, `${VAR:-default}`), in order, without duplicates. */
export function envNames(input: string): string[] {
  const names = [...input.matchAll(PLACEHOLDER)].map((m) => m[1]);
  return [...new Set(names)];
}
