import { performance } from 'node:perf_hooks';
import type { CacheControls } from '@gateway/cache';
import type { ChatRequest } from '@gateway/providers';
import {
  answer,
  type CacheInstance,
  chat,
  dropPrefix,
  sleep,
  startCache,
  tenant,
  uniquePrefix,
} from '../support/cache';

const PREFIX = uniquePrefix('workload');
const DEFAULT: CacheControls = { lookup: true, store: true };

/** Deterministic PRNG (mulberry32) so the replay, and its hit rate, is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples ranks 0..n-1 with P(k) ∝ 1/(k+1)^s. */
function zipf(n: number, s: number, random: () => number): () => number {
  const cdf: number[] = [];
  let total = 0;
  for (let k = 1; k <= n; k++) cdf.push((total += 1 / k ** s));
  return () => {
    const x = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const TOPICS = [
  'password',
  'invoice',
  'refund',
  'shipping',
  'two-factor login',
  'API key',
  'plan upgrade',
  'data export',
];
const ASKS = [
  'How do I change my',
  'Where can I find my',
  'Why did my',
  'Can you help with my',
  'What happens to my',
];

/**
 * A support bot's traffic: the same system prompt, a catalogue of 300 FAQ-style questions asked
 * with Zipf(1.0) popularity by many end users (`user` differs per request and must not matter),
 * plus 15 % one-off questions that never repeat.
 */
function supportTraffic(requests: number): ChatRequest[] {
  const random = rng(20240501);
  const faq = zipf(300, 1.0, random);
  const system = {
    role: 'system' as const,
    content: 'You are Acme support. Answer in two sentences.',
  };
  return Array.from({ length: requests }, (_, i) => {
    const user = `end-user-${Math.floor(random() * 5000)}`;
    if (random() < 0.15) {
      return chat({
        messages: [
          system,
          { role: 'user', content: `One-off question #${i}: my order ${i * 7919} is odd` },
        ],
        user,
      });
    }
    const q = faq();
    const content = `${ASKS[q % ASKS.length]} ${TOPICS[Math.floor(q / ASKS.length) % TOPICS.length]} (${q})?`;
    return chat({ messages: [system, { role: 'user', content }], user });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

describe('cache workload: a support bot replaying Zipf-distributed questions', () => {
  let a: CacheInstance;
  let b: CacheInstance;

  beforeAll(async () => {
    // This test measures what the cache saves on a realistic workload, not how it degrades: CI
    // runs it beside three other suites, lint and tsc on two cores, where the 100 ms default
    // command timeout could expire and send lookups past the cache (status `bypass`; a stop 21
    // CI run measured 35 % instead of 75 %). Degradation has its own tests (cache-redis-down).
    const env = { REDIS_COMMAND_TIMEOUT_MS: '2000' };
    [a, b] = await Promise.all([startCache(PREFIX, env), startCache(PREFIX, env)]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await dropPrefix(PREFIX);
  });

  it('serves more than half of the requests from the cache', async () => {
    const t = tenant();
    const traffic = supportTraffic(3_000);
    let providerCalls = 0;
    let hits = 0;
    let shared = 0;
    let bypassed = 0;
    const lookupMs: number[] = [];
    let next = 0;

    // 10 concurrent clients spread over two instances, like a load-balanced deployment.
    const client = async (id: number) => {
      const inst = id % 2 === 0 ? a : b;
      while (next < traffic.length) {
        const req = traffic[next++];
        const key = inst.cache.key(t, 'gpt-4o-mini', req);
        // The pipeline's one cache round trip: a hit, or the lock (lead or join).
        const started = performance.now();
        const opened = await inst.cache.open(t, key, DEFAULT);
        lookupMs.push(performance.now() - started);
        if (opened.status === 'hit') {
          hits++;
          continue;
        }
        if (opened.status === 'bypass') bypassed++;
        const out = await opened.fill.run(async () => {
          providerCalls++;
          await sleep(2);
          return answer(`Answer to: ${req.messages[1].content}`);
        });
        await out.stored;
        if (!out.leader) shared++;
      }
    };
    await Promise.all(Array.from({ length: 10 }, (_, i) => client(i)));

    const served = hits + shared;
    const hitRate = served / traffic.length;
    lookupMs.sort((x, y) => x - y);
    const p50 = percentile(lookupMs, 0.5);
    const p99 = percentile(lookupMs, 0.99);
    process.stdout.write(
      `cache workload: ${traffic.length} requests, ${hits} hits + ${shared} coalesced, ` +
        `${providerCalls} provider calls, hit rate ${(hitRate * 100).toFixed(1)}%, ` +
        `lookup p50 ${p50.toFixed(2)} ms p99 ${p99.toFixed(2)} ms, ${bypassed} lookups bypassed\n`,
    );

    // A bypass is a lookup that failed (Redis timed out or was marked unavailable): name it,
    // rather than let it show up as a low hit rate.
    expect(bypassed).toBe(0);
    expect(hitRate).toBeGreaterThan(0.5);
    expect(providerCalls + served).toBe(traffic.length);
    // The PRD's lookup target is 10 ms; the median has ample room even on a busy CI box.
    expect(p50).toBeLessThan(10);
  });
});
