import { createHash } from 'node:crypto';
import {
  apiKeyDigestId,
  digestFromId,
  displayPrefix,
  generateApiKey,
  hashApiKey,
  hashesEqual,
  isWellFormedKey,
  keyScope,
  randomBase62,
} from './api-key';

describe('api keys', () => {
  it('generates llm-gw- keys with at least 32 base62 random characters', () => {
    const key = generateApiKey('tenant');
    expect(key).toMatch(/^llm-gw-[0-9A-Za-z]{43}$/);
    expect(isWellFormedKey(key)).toBe(true);
    expect(keyScope(key)).toBe('tenant');
  });

  it('marks admin keys so they are looked up in admin_keys only', () => {
    const key = generateApiKey('admin');
    expect(key).toMatch(/^llm-gw-admin-[0-9A-Za-z]{43}$/);
    expect(isWellFormedKey(key)).toBe(true);
    expect(keyScope(key)).toBe('admin');
  });

  it('never repeats a key', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateApiKey('tenant')));
    expect(keys.size).toBe(2000);
  });

  it('draws base62 characters without a visible bias', () => {
    const counts = new Map<string, number>();
    for (const c of randomBase62(62 * 2000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Expected 2000 each; a modulo bias on 256 would put 0–7 near 2500.
    for (const n of counts.values()) expect(Math.abs(n - 2000)).toBeLessThan(300);
  });

  it('stores SHA-256 of the key', () => {
    const key = 'llm-gw-abc';
    expect(hashApiKey(key).toString('hex')).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashApiKey(key)).toHaveLength(32);
  });

  it('keys the cache by the same digest', () => {
    const key = generateApiKey('tenant');
    expect(digestFromId(apiKeyDigestId(key)).equals(hashApiKey(key))).toBe(true);
    expect(apiKeyDigestId(key)).toHaveLength(32);
  });

  it('shows only a short display prefix', () => {
    const key = generateApiKey('tenant');
    expect(displayPrefix(key)).toBe(key.slice(0, 13));
    const admin = generateApiKey('admin');
    expect(displayPrefix(admin)).toBe(admin.slice(0, 19));
  });

  it('refuses malformed keys before any lookup', () => {
    for (const bad of [
      '',
      'llm-gw-',
      'llm-gw-short',
      `sk-${'a'.repeat(40)}`,
      `llm-gw-${'a'.repeat(31)}`,
      `llm-gw-${'a'.repeat(40)}!`,
      `llm-gw-${'a'.repeat(129)}`,
      `LLM-GW-${'a'.repeat(40)}`,
    ]) {
      expect(isWellFormedKey(bad)).toBe(false);
    }
  });

  it('compares digests in constant time and handles length mismatches', () => {
    const a = hashApiKey('one');
    expect(hashesEqual(a, hashApiKey('one'))).toBe(true);
    expect(hashesEqual(a, hashApiKey('two'))).toBe(false);
    expect(hashesEqual(a, a.subarray(0, 16))).toBe(false);
  });
});
