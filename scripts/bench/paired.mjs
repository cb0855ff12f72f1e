// Paired latency at concurrency 1: one client sends, in a shuffled order each round, one request of
// every kind — direct (to the mock), bypass (no-store), miss (a fresh seed), hit (a fixed body) —
// so every kind meets the same machine noise, and compares their quantiles (docs/BENCHMARKS.md,
// "Paired"). Usage: node scripts/bench/paired.mjs <gateway url> <api key> <mock url> <body file> [rounds]
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [gateway, apiKey, mock, bodyFile, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 20000);
const warmup = Math.min(2000, Math.floor(rounds / 10));
const template = JSON.parse(readFileSync(bodyFile, 'utf8'));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const run = Date.now() % 1e9;
let seed = 0;

function post(base, path, body, headers) {
  const url = new URL(path, base);
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          ...headers,
        },
      },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          if (res.statusCode !== 200) reject(new Error(`${path}: HTTP ${res.statusCode}`));
          else resolve({ ms, cache: res.headers['x-cache'] });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const auth = { 'x-api-key': apiKey };
const kinds = {
  direct: () => post(mock, '/v1/chat/completions', template, {}),
  bypass: () =>
    post(
      gateway,
      '/v1/chat/completions',
      { ...template, seed: run * 1e6 + ++seed },
      {
        ...auth,
        'cache-control': 'no-store',
      },
    ),
  miss: () =>
    post(gateway, '/v1/chat/completions', { ...template, seed: run * 1e6 + ++seed }, auth),
  hit: () => post(gateway, '/v1/chat/completions', template, auth),
};
const expected = { direct: undefined, bypass: 'BYPASS', miss: 'MISS', hit: 'HIT' };
const names = Object.keys(kinds);
const samples = Object.fromEntries(names.map((n) => [n, []]));

await kinds.hit(); // stores the hit's entry
for (let r = 0; r < rounds + warmup; r++) {
  const order = [...names].sort(() => Math.random() - 0.5);
  for (const n of order) {
    const { ms, cache } = await kinds[n]();
    if (cache !== expected[n]) throw new Error(`${n}: X-Cache ${cache}`);
    if (r >= warmup) samples[n].push(ms);
  }
}
agent.destroy();

const q = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const stats = {};
for (const n of names) {
  const s = samples[n].sort((a, b) => a - b);
  stats[n] = { p50: q(s, 0.5), p90: q(s, 0.9), p99: q(s, 0.99), p999: q(s, 0.999) };
}
const f = (x) => x.toFixed(3);
console.log(`paired, c = 1, ${rounds} requests of each kind (after ${warmup} warm-up rounds), ms`);
console.log('| kind | p50 | p90 | p99 | p99.9 |\n|---|---|---|---|---|');
for (const n of names) {
  const s = stats[n];
  console.log(`| ${n} | ${f(s.p50)} | ${f(s.p90)} | ${f(s.p99)} | ${f(s.p999)} |`);
}
const d = (a, b, k) => f(stats[a][k] - stats[b][k]);
console.log(
  `miss − bypass (what the cache adds to a miss): p50 ${d('miss', 'bypass', 'p50')}, p90 ${d('miss', 'bypass', 'p90')}, p99 ${d('miss', 'bypass', 'p99')}`,
);
console.log(
  `hit − bypass: p50 ${d('hit', 'bypass', 'p50')}, p99 ${d('hit', 'bypass', 'p99')}; hit − direct: p50 ${d('hit', 'direct', 'p50')}, p99 ${d('hit', 'direct', 'p99')}`,
);
