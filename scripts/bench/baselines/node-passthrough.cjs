/*
 * Bench baseline (`npm run bench`, scenario base-node): the least a proxy in Node can do — node:http
 * in, JSON parsed and re-serialised, undici pool out — measured in the same sitting as the gateway,
 * so its numbers have a floor from the same machine state. Env: PORT, UPSTREAM (origin).
 */
'use strict';
const http = require('node:http');
const { Pool } = require('undici');

const pool = new Pool(process.env.UPSTREAM, { connections: 32 });
http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      pool
        .request({
          path: req.url,
          method: 'POST',
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench-0000' },
        })
        .then((r) => r.body.json())
        .then((answer) => {
          const out = JSON.stringify(answer);
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(out),
          });
          res.end(out);
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
