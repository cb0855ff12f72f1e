#!/usr/bin/env node
// What a hostile nesting costs a running gateway, request by request: N sequential completions of
// each body below (100,000-level arrays, 10,000-level objects, and a small refused body for
// scale) on the fast route and through Express, each answered 400; prints the p50 latency and the
// gateway's CPU per request (utime + stime of PID from /proc). docs/BENCHMARKS.md, Hostile input.
// usage: KEY=<tenant key> node scripts/bench/deep-body.mjs PORT PID [N=200]
import { cpuMs } from './proc-cpu.mjs';

const [port, pid, n = '200'] = process.argv.slice(2);
const key = process.env.KEY;
if (!port || !pid || !key) {
  console.error('usage: KEY=<tenant key> node scripts/bench/deep-body.mjs PORT PID [N]');
  process.exit(1);
}
const bodies = {
  arrays: `{"model":"gpt-4o-mini","messages":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
  small: '{"model":"gpt-4o-mini","messages":[[[1]]]}',
  objects: `{"model":"gpt-4o-mini","x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
};
// The fast completion route, and a spelling of a completion route that Express serves.
const paths = ['/v1/chat/completions', '/api/v1/completions/'];
let failed = false;
for (const [name, body] of Object.entries(bodies)) {
  for (const path of paths) {
    const latencies = [];
    const statuses = new Set();
    const before = cpuMs(pid);
    for (let i = 0; i < Number(n); i++) {
      const started = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body,
      });
      await res.text();
      statuses.add(res.status);
      latencies.push(performance.now() - started);
    }
    const cpu = (cpuMs(pid) - before) / Number(n);
    latencies.sort((a, b) => a - b);
    const p50 = latencies[latencies.length >> 1];
    if (statuses.size !== 1 || !statuses.has(400)) failed = true;
    console.log(
      `${name.padEnd(8)} ${path.padEnd(22)} status ${[...statuses].join(',')}  p50 ${p50.toFixed(2)} ms  gateway CPU ${cpu.toFixed(2)} ms/request`,
    );
  }
}
if (failed) {
  console.error('a body was not answered 400 every time');
  process.exit(1);
}
