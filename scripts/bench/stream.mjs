// Streaming bench (npm run bench, SCENARIOS=stream): closed-loop streamed requests at each
// concurrency level, straight to the mock upstream and through the gateway (Cache-Control:
// no-store, so every request is relayed from the provider). Per level: time to first byte (the
// first body bytes) and to the end, p50/p99, for both targets and the difference; the gateway's CPU
// per stream (from /proc/<pid>/stat); and every stream checked: status 200, the text rebuilt from
// the chunks equal to the mock's, `[DONE]` last, within STALL_MS (a stall or a reordering counts as
// a failure). Prints one JSON line per level.
// Usage: node scripts/bench/stream.mjs <gateway url> <api key> <mock url> <gateway pid> <levels> <seconds> [round] [label]
import { cpuMs } from './proc-cpu.mjs';
import http from 'node:http';

const [gateway, apiKey, mock, pidArg, levelsArg, secondsArg, round, label] = process.argv.slice(2);
const levels = (levelsArg ?? '1 50 200').split(/[ ,]+/).filter(Boolean).map(Number);
const seconds = Number(secondsArg ?? 10);
const STALL_MS = 10_000;

const body = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Stream me the quick brown fox, please.' }],
  stream: true,
});

/** One streamed request: resolves with timings and whether the stream was whole and in order. */
function stream(agent, base, headers) {
  const url = new URL('/v1/chat/completions', base);
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    let firstByte = null;
    let text = '';
    const timer = setTimeout(() => req.destroy(new Error('stall')), STALL_MS);
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (d) => {
          if (firstByte === null) firstByte = process.hrtime.bigint();
          text += d;
        });
        res.on('end', () => {
          clearTimeout(timer);
          const ms = (t) => Number(t - started) / 1e6;
          resolve({
            ok: res.statusCode === 200,
            ttfb: ms(firstByte ?? started),
            total: ms(process.hrtime.bigint()),
            text,
          });
        });
      },
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, stall: err.message === 'stall', ttfb: 0, total: 0, text });
    });
    req.end(body);
  });
}

/** The content rebuilt from the chunks, and whether `[DONE]` came last. */
function parse(text) {
  const data = text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => l.slice(6));
  let content = '';
  let chunks = 0;
  for (const d of data.slice(0, -1)) {
    const c = JSON.parse(d).choices?.[0]?.delta?.content;
    if (typeof c === 'string' && c !== '') {
      content += c;
      chunks++;
    }
  }
  return { content, chunks, done: data.at(-1) === '[DONE]' };
}

async function level(name, base, headers, c, expected) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: c });
  const ttfb = [];
  const total = [];
  let streams = 0;
  let chunks = 0;
  let failures = 0;
  let stalls = 0;
  const until = Date.now() + seconds * 1000;
  const worker = async () => {
    while (Date.now() < until) {
      const r = await stream(agent, base, headers);
      const p = parse(r.text);
      if (r.stall) stalls++;
      if (!r.ok || !p.done || (expected !== null && p.content !== expected)) {
        failures++;
        continue;
      }
      streams++;
      chunks += p.chunks;
      ttfb.push(r.ttfb);
      total.push(r.total);
    }
  };
  await Promise.all(Array.from({ length: c }, worker));
  agent.destroy();
  const q = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? Number(s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(3)) : null;
  };
  return {
    name,
    c,
    streams,
    chunks,
    failures,
    stalls,
    ttfb_p50: q(ttfb, 0.5),
    ttfb_p99: q(ttfb, 0.99),
    total_p50: q(total, 0.5),
    total_p99: q(total, 0.99),
  };
}

// The reference text: one direct stream.
const reference = parse((await stream(new http.Agent(), mock, {})).text).content;
for (const c of levels) {
  const direct = await level('direct', mock, {}, c, reference);
  const before = cpuMs(Number(pidArg));
  const gw = await level(
    'gateway',
    gateway,
    { 'X-API-Key': apiKey, 'Cache-Control': 'no-store' },
    c,
    reference,
  );
  const cpu = cpuMs(Number(pidArg)) - before;
  console.log(
    JSON.stringify({
      round: Number(round ?? 1),
      mock: label ?? 'short',
      c,
      direct,
      gateway: gw,
      added_ttfb_p50_ms: Number((gw.ttfb_p50 - direct.ttfb_p50).toFixed(3)),
      added_ttfb_p99_ms: Number((gw.ttfb_p99 - direct.ttfb_p99).toFixed(3)),
      gateway_cpu_ms_per_stream: Number((cpu / Math.max(1, gw.streams)).toFixed(4)),
      chunks_per_stream: Number((gw.chunks / Math.max(1, gw.streams)).toFixed(1)),
    }),
  );
}
