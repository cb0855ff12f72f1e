// Summarises scripts/bench/stream.mjs output (JSON lines over rounds) as a markdown table: medians
// per (mock, c), and the CPU of one more streamed chunk from the short and long mocks at one level.
// Usage: node scripts/bench/stream-summary.mjs <stream.jsonl> <cpu level>
import { readFileSync } from 'node:fs';

const [file, cpuLevel] = process.argv.slice(2);
const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
const groups = new Map();
for (const r of rows) {
  const k = `${r.mock} ${r.c}`;
  if (!groups.has(k)) groups.set(k, []);
  groups.get(k).push(r);
}
console.log(
  '| mock | c | rounds | direct TTFB p50 / p99 ms | gateway TTFB p50 / p99 ms | added TTFB p50 / p99 ms | gateway end p50 ms | streams | chunks/stream | failed | stalled | gateway CPU ms/stream |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
const cpu = {};
for (const [k, rs] of groups) {
  const [mock, c] = k.split(' ');
  const m = (f) => median(rs.map(f));
  const perStream = m((r) => r.gateway_cpu_ms_per_stream);
  if (Number(c) === Number(cpuLevel))
    cpu[mock] = { perStream, chunks: m((r) => r.chunks_per_stream) };
  console.log(
    `| ${mock} | ${c} | ${rs.length} | ${m((r) => r.direct.ttfb_p50)} / ${m((r) => r.direct.ttfb_p99)} | ` +
      `${m((r) => r.gateway.ttfb_p50)} / ${m((r) => r.gateway.ttfb_p99)} | ` +
      `${m((r) => r.added_ttfb_p50_ms).toFixed(3)} / ${m((r) => r.added_ttfb_p99_ms).toFixed(3)} | ` +
      `${m((r) => r.gateway.total_p50)} | ${rs.reduce((a, r) => a + r.gateway.streams, 0)} | ` +
      `${m((r) => r.chunks_per_stream)} | ${rs.reduce((a, r) => a + r.gateway.failures + r.direct.failures, 0)} | ` +
      `${rs.reduce((a, r) => a + r.gateway.stalls + r.direct.stalls, 0)} | ${perStream} |`,
  );
}
if (cpu.short && cpu.long && cpu.long.chunks > cpu.short.chunks) {
  const perChunk =
    (cpu.long.perStream - cpu.short.perStream) / (cpu.long.chunks - cpu.short.chunks);
  console.log(
    `\nCPU per additional streamed chunk at c=${cpuLevel}: ${perChunk.toFixed(4)} ms ` +
      `((${cpu.long.perStream} - ${cpu.short.perStream}) ms / (${cpu.long.chunks} - ${cpu.short.chunks}) chunks)`,
  );
}
