// Paired A/B at concurrency 1: one client alternates requests between two gateways (A, B, A, B…,
// each over its own keep-alive connection), so both meet the same machine noise request by
// request, and reports each side's quantiles and CPU per request (from /proc/<pid>/stat).
// Usage: node scripts/bench/paired-ab.mjs <url A> <pid A> <url B> <pid B> <api key> <body file>
//          [requests per side] [cache-control]
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { cpuMs } from './proc-cpu.mjs';

const [urlA, pidA, urlB, pidB, apiKey, bodyFile, nArg, cacheControl] = process.argv.slice(2);
const n = Number(nArg ?? 10000);
const payload = readFileSync(bodyFile);

const side = (url, pid) => ({
  url: new URL('/v1/chat/completions', url),
  pid,
  agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
  ms: [],
});
const sides = [side(urlA, pidA), side(urlB, pidB)];

function post(s) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request(
      s.url,
      {
        method: 'POST',
        agent: s.agent,
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          'x-api-key': apiKey,
          'cache-control': cacheControl ?? 'no-store',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${s.url.host}: HTTP ${res.statusCode}`));
          else resolve(Number(process.hrtime.bigint() - t0) / 1e6);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const q = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
for (let i = 0; i < Math.min(1000, n / 5); i++) for (const s of sides) await post(s); // warm-up
const before = sides.map((s) => cpuMs(s.pid));
for (let i = 0; i < n; i++) {
  const order = i % 2 === 0 ? sides : [sides[1], sides[0]];
  for (const s of order) s.ms.push(await post(s));
}
const after = sides.map((s) => cpuMs(s.pid));
sides.forEach((s, i) => {
  const ms = s.ms.sort((a, b) => a - b);
  const cpu = (after[i] - before[i]) / n;
  console.log(
    `${'AB'[i]} n=${n} p50=${q(ms, 0.5).toFixed(3)} p90=${q(ms, 0.9).toFixed(3)} ` +
      `p99=${q(ms, 0.99).toFixed(3)} mean=${(ms.reduce((a, b) => a + b, 0) / n).toFixed(3)} ` +
      `cpu_ms_per_req=${cpu.toFixed(3)}`,
  );
});
