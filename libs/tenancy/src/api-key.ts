import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every gateway key starts with this (docs/api.md §2); admin keys add a scope marker after it. */
export const KEY_PREFIX = 'llm-gw-';
export const ADMIN_KEY_PREFIX = 'llm-gw-admin-';
/** 43 base62 characters ≈ 256 bits of entropy (the contract asks for at least 32 characters). */
export const KEY_RANDOM_LENGTH = 43;
/** Characters kept in clear for display (`llm-gw-AbCdEf`), far too few to help guess a key. */
const DISPLAY_RANDOM_CHARS = 6;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Well-formed gateway keys; anything else is refused without touching Postgres. */
const WELL_FORMED = /^llm-gw-(?:admin-)?[0-9A-Za-z]{32,128}$/;

export type KeyScope = 'tenant' | 'admin';

/** Uniform base62 from the CSPRNG: bytes ≥ 248 are rejected so `% 62` carries no bias. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A fresh key: shown once to the caller, then kept only as its SHA-256. */
export function generateApiKey(scope: KeyScope): string {
  return (scope === 'admin' ? ADMIN_KEY_PREFIX : KEY_PREFIX) + randomBase62(KEY_RANDOM_LENGTH);
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * The same SHA-256 as a one-byte-per-char string: the key of the in-process cache. It costs a
 * fifth of `hashApiKey` (no Buffer allocation), which matters on every authenticated request.
 */
export function apiKeyDigestId(key: string): string {
  return hash('sha256', key, 'binary');
}

export function digestFromId(id: string): Buffer {
  return Buffer.from(id, 'binary');
}

/** The display prefix stored beside the hash (`llm-gw-AbCdEf`, `llm-gw-admin-AbCdEf`). */
export function displayPrefix(key: string): string {
  const head = key.startsWith(ADMIN_KEY_PREFIX) ? ADMIN_KEY_PREFIX : KEY_PREFIX;
  return key.slice(0, head.length + DISPLAY_RANDOM_CHARS);
}

export function isWellFormedKey(key: string): boolean {
  return WELL_FORMED.test(key);
}

/** Which table a well-formed key can live in; decided by its prefix, so one lookup suffices. */
export function keyScope(key: string): KeyScope {
  return key.startsWith(ADMIN_KEY_PREFIX) ? 'admin' : 'tenant';
}

/** Constant-time equality of two digests (false, without comparing, on a length mismatch). */
export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
