/**
 * JSON with object keys sorted at every depth and no whitespace, so two requests that differ only
 * in key order or formatting serialise to the same bytes. Arrays keep their order (message order is
 * meaningful); object members whose value is `undefined` are dropped, as JSON.stringify does.
 * Built into one string as it walks (it runs on every cacheable request).
 */
export function canonicalJson(value: unknown): string {
  return write(value, '');
}

function write(value: unknown, out: string): string {
  if (value === null) return out + 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return out + JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
      return out + JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        out += '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out = write(value[i] ?? null, out);
        }
        return out + ']';
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      out += '{';
      let first = true;
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        out += first ? JSON.stringify(k) + ':' : ',' + JSON.stringify(k) + ':';
        first = false;
        out = write(v, out);
      }
      return out + '}';
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  }
}
