import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { maybeRequestContext } from '@gateway/context';
import { installFastRoutes } from './fast-routes';
import { type BodyError, readJsonBody } from './json-body';
import { pathOf } from './request-context.middleware';

interface Reply {
  status: number;
  via: string;
  body: string;
  requestId: string | undefined;
}

/** A server whose general listener answers `general`; one fast route at /fast echoes its parsed body. */
async function serve(maxBodyBytes = 100): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.setHeader('X-Via', 'general');
    res.end('general');
  });
  installFastRoutes(server, {
    maxBodyBytes,
    middleware: [],
    routes: new Map([
      [
        '/fast',
        (req, res) => {
          const ctx = maybeRequestContext(req);
          res.setHeader('X-Via', `fast ${ctx?.endpoint}`);
          readJsonBody(req).then(
            (body) => res.end(JSON.stringify(body)),
            (err: BodyError) => res.end(`${err.type} ${err.status}`),
          );
        },
      ],
    ]),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
  chunked = false,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          via: String(res.headers['x-via']),
          body: Buffer.concat(chunks).toString('utf8'),
          requestId: res.headers['x-request-id'] as string | undefined,
        }),
      );
    });
    req.on('error', reject);
    if (body !== undefined && chunked) {
      req.write(body);
      req.end();
    } else {
      req.end(body);
    }
  });
}

function json(
  body: string | Buffer,
  type = 'application/json',
): [Record<string, string>, string | Buffer] {
  return [{ 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) }, body];
}

describe('installFastRoutes', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    ({ server, port } = await serve());
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('serves a plain JSON POST to a fast path, with a request context and X-Request-Id', async () => {
    const r = await send(port, 'POST', '/fast', ...json('{"a":[1,2]}'));
    expect(r.via).toBe('fast /fast');
    expect(JSON.parse(r.body)).toEqual({ a: [1, 2] });
    expect(r.requestId).toMatch(/\S/);
  });

  it.each([
    ['application/json; charset=utf-8', true],
    ['Application/JSON; charset="UTF-8"', true],
    ['application/json; charset=latin1', false],
    ['text/plain', false],
    ['application/vnd.api+json', false],
  ])('Content-Type %s on the fast route: %s', async (type, fast) => {
    const r = await send(port, 'POST', '/fast', ...json('{}', type));
    expect(r.via.startsWith('fast')).toBe(fast);
  });

  it('leaves everything else to the general listener', async () => {
    const [headers, body] = json('{}');
    const others = await Promise.all([
      send(port, 'GET', '/fast', {}),
      send(port, 'PUT', '/fast', headers, body),
      send(port, 'POST', '/fast/', headers, body),
      send(port, 'POST', '/fast?x=1', headers, body),
      send(port, 'POST', '/FAST', headers, body),
      send(port, 'POST', '/other', headers, body),
      send(port, 'POST', '/fast', { 'Content-Type': 'application/json' }, '{}', true),
      send(port, 'POST', '/fast', { ...headers, 'Content-Encoding': 'gzip' }, body),
      send(port, 'POST', '/fast', ...json(`{"a":"${'x'.repeat(200)}"}`)),
    ]);
    expect(others.map((r) => r.via)).toEqual(new Array(others.length).fill('general'));
  });

  it('reads bodies the way the strict JSON body-parser does', async () => {
    const cases: Array<[string | Buffer, string]> = [
      ['', '{}'],
      ['\ufeff{"a":1}', '{"a":1}'],
      [' \n[1]', '[1]'],
      ['{"a":', 'entity.parse.failed 400'],
      ['"text"', 'entity.parse.failed 400'],
      ['12', 'entity.parse.failed 400'],
      [Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'encoding.unsupported 400'],
    ];
    for (const [body, expected] of cases) {
      const r = await send(port, 'POST', '/fast', ...json(body));
      expect([body, r.body]).toEqual([body, expected]);
    }
  });
});

describe('pathOf', () => {
  it.each([
    [undefined, '/'],
    ['', '/'],
    ['/v1/chat/completions', '/v1/chat/completions'],
    ['/v1/chat/completions?x=1&y=2', '/v1/chat/completions'],
    ['/a#frag', '/a'],
    ['http://gateway.example/api/v1/completions?x=1', '/api/v1/completions'],
    ['*', '*'],
  ])('%p → %p', (url, path) => {
    expect(pathOf(url)).toBe(path);
  });
});
