// An OpenAI-compatible upstream whose streams last: EVENTS text chunks, EVENT_MS apart, then the
// finish chunk, the usage chunk and [DONE], so that many streams are open through the gateway at
// once (scripts/bench/stream-rss.sh). Non-stream requests and GET /v1/models answer at once.
// Env: PORT (required), EVENTS (default 20), EVENT_MS (default 100), PAD (bytes of text per chunk, default 40)
import http from 'node:http';

const events = Number(process.env.EVENTS ?? 20);
const eventMs = Number(process.env.EVENT_MS ?? 100);
const pad = 'x'.repeat(Number(process.env.PAD ?? 40));
const base = { id: 'chatcmpl-slow', object: 'chat.completion.chunk', created: 1, model: 'slow' };
const chunk = (choices, extra = {}) =>
  `data: ${JSON.stringify({ ...base, choices, ...extra })}\n\n`;

http
  .createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"object":"list","data":[]}');
      }
      const stream = JSON.parse(raw || '{}').stream === true;
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({
            ...base,
            object: 'chat.completion',
            choices: [
              { index: 0, message: { role: 'assistant', content: pad }, finish_reason: 'stop' },
            ],
            usage: { prompt_tokens: 10, completion_tokens: events, total_tokens: 10 + events },
          }),
        );
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
      );
      let i = 0;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        if (i < events) {
          res.write(chunk([{ index: 0, delta: { content: `${i} ${pad} ` }, finish_reason: null }]));
          i++;
          return;
        }
        clearInterval(timer);
        res.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
        res.write(
          chunk([], {
            usage: { prompt_tokens: 10, completion_tokens: events, total_tokens: 10 + events },
          }),
        );
        res.end('data: [DONE]\n\n');
      }, eventMs);
      res.on('close', () => clearInterval(timer));
    });
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
