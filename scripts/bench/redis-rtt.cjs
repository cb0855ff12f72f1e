// The round trip of the cache's lookup script as a bare client sees it, to compare with the
// gateway's own llm_gateway_cache_operation_duration_seconds (docs/BENCHMARKS.md, "The cache on a
// miss"). Runs the same kind of script (reads two generations and an 800-byte entry) N times, one at
// a time, pausing 1 ms between calls like a c = 1 client, and prints the quantiles.
// Usage: node scripts/bench/redis-rtt.cjs [N]   Env: REDIS_URL (default redis://127.0.0.1:6379), DB 15.
'use strict';
const Redis = require('ioredis');

const N = Number(process.argv[2] ?? 5000);
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { db: 15 });
const prefix = `rtt-probe-${process.pid}:`;
redis.defineCommand('probe', {
  numberOfKeys: 2,
  lua: `local g = redis.call('GET', KEYS[1]) or '0'
local G = redis.call('GET', KEYS[2]) or '0'
return redis.call('GET', ARGV[1] .. G .. ':' .. g .. ':' .. ARGV[2])`,
});

(async () => {
  await redis.set(`${prefix}e:0:0:abc`, Buffer.alloc(800, 1), 'EX', 600);
  const ms = [];
  for (let i = 0; i < N; i++) {
    const started = process.hrtime.bigint();
    await redis.probeBuffer(`${prefix}g`, `${prefix}G`, `${prefix}e:`, 'abc');
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  ms.sort((a, b) => a - b);
  const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(3);
  console.log(
    `n=${N} p50=${q(0.5)} ms p90=${q(0.9)} ms p99=${q(0.99)} ms p999=${q(0.999)} ms max=${q(1)} ms`,
  );
  await redis.del(`${prefix}e:0:0:abc`);
  redis.disconnect();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
