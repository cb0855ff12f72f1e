import type { IncomingHttpHeaders } from 'node:http';
import { ProviderError } from '../provider.error';

/** The longest provider error message passed on to a client (a 400's reason, never a raw body). */
const MAX_MESSAGE_CHARS = 500;
/**
 * Token shapes that must never reach a client even if a provider echoes them: OpenAI/Anthropic
 * keys, this gateway's tenant keys, bearer tokens.
 */
const SECRET_PATTERNS: readonly RegExp[] = [
  /\bsk-[A-Za-z0-9_*-]{6,}/g,
  /\bllm-gw-[A-Za-z0-9_-]{6,}/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]{6,}/gi,
];

/** A provider request in wire form; the transport adds nothing but the connection. */
export interface WireRequest {
  readonly method: 'GET' | 'POST';
  /** Appended to the provider base URL's path. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
}

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a 2xx body; anything but a JSON object is an invalid response. */
export function parseJsonObject(body: string): JsonObject {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new ProviderError('invalid_response', 'invalid response: body is not JSON', {
      cause: err,
    });
  }
  if (!isObject(doc)) {
    throw new ProviderError('invalid_response', 'invalid response: body is not a JSON object');
  }
  return doc;
}

/** Best-effort parse of an error body; a non-JSON error body yields null, never a throw. */
export function tryParseJsonObject(body: string): JsonObject | null {
  try {
    const doc: unknown = JSON.parse(body);
    return isObject(doc) ? doc : null;
  } catch {
    return null;
  }
}

export function missingField(field: string): ProviderError {
  return new ProviderError('invalid_response', `invalid response: missing or malformed ${field}`);
}

export function nonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/**
 * A provider's error message made safe to show a client: one line, bounded, with the provider's own
 * key and anything key-shaped removed (providers do echo partial keys in auth errors).
 */
export function safeProviderMessage(message: unknown, secrets: readonly string[]): string | null {
  if (typeof message !== 'string') return null;
  let text = message.replace(/\s+/g, ' ').trim();
  for (const secret of secrets) {
    if (secret.length >= 4) text = text.split(secret).join('[redacted]');
  }
  for (const pattern of SECRET_PATTERNS) text = text.replace(pattern, '[redacted]');
  if (text.length > MAX_MESSAGE_CHARS) text = `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
  return text === '' ? null : text;
}

/**
 * `retry-after-ms` (OpenAI) or `retry-after` in seconds or as an HTTP date; null when absent or
 * unparseable. Capped at an hour so a hostile value cannot overflow a timer.
 */
export function parseRetryAfter(headers: IncomingHttpHeaders, now = Date.now()): number | null {
  const ms = headerValue(headers, 'retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms)) return cap(Math.ceil(Number(ms)));
  const value = headerValue(headers, 'retry-after');
  if (value === null) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return cap(Math.ceil(Number(value) * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : cap(Math.max(0, at - now));
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : null;
}

function cap(ms: number): number {
  return Math.min(ms, 3_600_000);
}
