// Opens STREAMS concurrent streamed requests through the gateway at once (half of them slow
// readers that stop reading for SLOW_PAUSE_MS mid-stream), samples the gateway's RSS from
// /proc/<pid>/status every 50 ms, and prints idle RSS, peak RSS, the peak's increase per stream,
// and how many streams completed whole (ending in [DONE] with every chunk in order).
// Usage: node scripts/bench/stream-rss.mjs <gateway url> <api key> <gateway pid> [streams]
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [gateway, apiKey, pidArg, streamsArg] = process.argv.slice(2);
const streams = Number(streamsArg ?? 1000);
const slowPauseMs = Number(process.env.SLOW_PAUSE_MS ?? 1500);
const rssMb = () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pidArg}/status`, 'utf8'))[1]) / 1024;

let firstError = null;
let open = 0;
let maxOpen = 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: streams });
const body = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'stream slowly' }],
  stream: true,
});

function one(i) {
  return new Promise((resolve) => {
    const req = http.request(
      new URL('/v1/chat/completions', gateway),
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-api-key': apiKey,
          'cache-control': 'no-store',
        },
      },
      (res) => {
        maxOpen = Math.max(maxOpen, ++open);
        let text = '';
        if (res.statusCode !== 200 && firstError === null) {
          res.on('data', (d) => (firstError = `${res.statusCode} ${String(d).slice(0, 300)}`));
        }
        let paused = false;
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
          if (i % 2 === 1 && !paused && text.length > 500) {
            paused = true; // a slow reader: stops reading for a while
            res.pause();
            setTimeout(() => res.resume(), slowPauseMs);
          }
        });
        res.on('end', () => {
          const data = text
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6));
          let ordered = true;
          let n = 0;
          for (const d of data.slice(0, -1)) {
            const c = JSON.parse(d).choices?.[0]?.delta?.content;
            if (typeof c === 'string' && c !== '') {
              if (!c.startsWith(`${n} `)) ordered = false;
              n++;
            }
          }
          open--;
          resolve(res.statusCode === 200 && data.at(-1) === '[DONE]' && ordered && n > 0);
        });
      },
    );
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

const idle = rssMb();
let peak = idle;
const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 50);
const started = Date.now();
// Opened over about a second (one per millisecond): many streams held open at once, not a
// connection storm.
const results = await Promise.all(
  Array.from({ length: streams }, (_, i) =>
    new Promise((r) => setTimeout(r, i)).then(() => one(i)),
  ),
);
clearInterval(sampler);
const ok = results.filter(Boolean).length;
console.log(
  JSON.stringify({
    streams,
    completed_whole: ok,
    failed: streams - ok,
    seconds: (Date.now() - started) / 1000,
    rss_idle_mb: Number(idle.toFixed(1)),
    rss_peak_mb: Number(peak.toFixed(1)),
    rss_per_stream_kb: Number((((peak - idle) * 1024) / streams).toFixed(1)),
    max_open_at_once: maxOpen,
    first_error: firstError,
  }),
);
agent.destroy();
