import { randomBytes } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';

/*
 * The hostile drill's inputs: each one a complete HTTP/1.1 request as raw bytes, so nothing on
 * the client side can tidy it up, with what the gateway must answer. Every answer must be a 4xx
 * (or, where the input is merely odd but valid, a 2xx) with a JSON error body: never a 5xx.
 */

export interface HostileInput {
  /** Which group it belongs to (for the report) and what it is. */
  group: string;
  name: string;
  bytes: Buffer;
  /** The status it must get; `4xx` any client error; `ok` any 2xx or 4xx. */
  expect: number | '4xx' | 'ok';
  /** Whether it is one of the issue's reproductions (reported case by case). */
  issueCase?: string;
}

export interface CorpusKeys {
  tenantKey: string;
  adminKey: string;
  tenantId: string;
}

const MAX_BODY_BYTES = 1_048_576;

function request(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): Buffer {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: gateway', 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined && headers['Transfer-Encoding'] === undefined) {
    lines.push(`Content-Length: ${payload.length}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

const ask = { model: 'mock-model', messages: [{ role: 'user', content: 'hello' }] };

/** Builds the corpus: well over 100 inputs, in the groups the drill reports. */
export function hostileCorpus(keys: CorpusKeys): HostileInput[] {
  const out: HostileInput[] = [];
  const tenant = (extra: Record<string, string> = {}) => ({
    'X-API-Key': keys.tenantKey,
    'Content-Type': 'application/json',
    ...extra,
  });
  const admin = (extra: Record<string, string> = {}) => ({
    'X-API-Key': keys.adminKey,
    'Content-Type': 'application/json',
    ...extra,
  });
  const completion = (
    group: string,
    name: string,
    body: string | Buffer,
    expect: HostileInput['expect'],
    headers: Record<string, string> = {},
    path = '/api/v1/completions',
  ) => out.push({ group, name, expect, bytes: request('POST', path, tenant(headers), body) });

  // --- the issue's reproductions -------------------------------------------------------------
  out.push({
    group: 'issue',
    name: 'NUL in the model alias (fast route)',
    issueCase: '1 NUL byte in model',
    expect: 400,
    bytes: request(
      'POST',
      '/api/v1/completions',
      tenant(),
      JSON.stringify({ ...ask, model: 'x\u0000y' }),
    ),
  });
  out.push({
    group: 'issue',
    name: 'NUL in the model alias (chat route, gzip)',
    issueCase: '1 NUL byte in model',
    expect: 400,
    bytes: request(
      'POST',
      '/v1/chat/completions',
      tenant({ 'Content-Encoding': 'gzip' }),
      gzipSync(JSON.stringify({ ...ask, model: 'x\u0000y' })),
    ),
  });
  out.push({
    group: 'issue',
    name: 'corrupt gzip body',
    issueCase: '5 corrupt Content-Encoding',
    expect: 400,
    bytes: request('POST', '/api/v1/completions', tenant({ 'Content-Encoding': 'gzip' }), 'junk!'),
  });
  out.push({
    group: 'issue',
    name: 'unsupported Content-Encoding',
    issueCase: '5 corrupt Content-Encoding',
    expect: 415,
    bytes: request('POST', '/api/v1/completions', tenant({ 'Content-Encoding': 'zstd' }), 'junk!'),
  });
  out.push({
    group: 'issue',
    name: 'NUL in a tenant name',
    issueCase: '6 NUL in tenant name',
    expect: 400,
    bytes: request(
      'POST',
      '/api/v1/admin/tenants',
      admin(),
      JSON.stringify({ name: 'evil\u0000', rate_limit: 1, monthly_budget: 1 }),
    ),
  });
  out.push({
    group: 'issue',
    name: 'header section over 16 KB',
    issueCase: '7 HTTP parser errors',
    expect: 431,
    bytes: Buffer.from(`GET /health HTTP/1.1\r\nHost: g\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
  });
  out.push({
    group: 'issue',
    name: 'bare CR in a header',
    issueCase: '7 HTTP parser errors',
    expect: 400,
    bytes: Buffer.from('GET /health HTTP/1.1\r\nHost: g\r\nX-A: a\rb\r\n\r\n'),
  });
  out.push({
    group: 'issue',
    name: 'Content-Length with Transfer-Encoding',
    issueCase: '7 HTTP parser errors',
    expect: 400,
    bytes: Buffer.from(
      'POST /api/v1/completions HTTP/1.1\r\nHost: g\r\nContent-Length: 5\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ),
  });
  out.push({
    group: 'issue',
    name: 'bracket query tenant_id[$ne]',
    issueCase: '8 unknown query parameters',
    expect: 400,
    bytes: request('GET', '/api/v1/admin/audit?tenant_id[$ne]=x', admin()),
  });
  for (let i = 0; i < 5; i++) {
    out.push({
      group: 'issue',
      name: `unknown key #${i}`,
      issueCase: '9 failed authentication',
      expect: '4xx',
      bytes: request('GET', '/v1/models', {
        'X-API-Key': `llm-gw-${randomBytes(24).toString('hex')}`,
      }),
    });
  }
  out.push({
    group: 'issue',
    name: '10 kB tenant id',
    issueCase: '10 unbounded echo',
    expect: 404,
    bytes: request('GET', `/api/v1/admin/tenants/${'a'.repeat(10_000)}`, admin()),
  });
  out.push({
    group: 'issue',
    name: '..%2F.. as a tenant id',
    issueCase: '10 unbounded echo',
    expect: 404,
    bytes: request('GET', '/api/v1/admin/tenants/..%2F..%2F..%2Fetc%2Fpasswd', admin()),
  });

  // --- malformed JSON ------------------------------------------------------------------------
  const malformed = [
    '{',
    '{"model":',
    '[',
    'nul',
    '{"model":"mock-model",}',
    "{'model':'mock-model'}",
    '{"model":"mock-model"}}',
    '"just a string"',
    '12345',
    'NaN',
    '{"model":"mock-model","messages":[}',
    '{"a":"\\x41"}',
    '{"a":"\\u12"}',
    '\ufeff\ufeff{}',
    '{"a":1e999999}',
    '{"model": "mock-model", "messages": [{"role": "user", "content": "x"}], "temperature": Infinity}',
    '{"__proto__": {"polluted": true}, "model": "mock-model"}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    '{"model":"mock-model","model":"other"}',
    '{"messages": "not an array", "model": "mock-model"}',
    '{"messages": [{"role": "root", "content": "x"}], "model": "mock-model"}',
    '{"messages": [{"role": "user", "content": {"x": 1}}], "model": "mock-model"}',
    '{"messages": [{"role": "user", "content": "x"}], "model": ["mock-model"]}',
    '{"messages": [{"role": "user", "content": "x"}], "model": "mock-model", "max_tokens": -1}',
    '{"messages": [{"role": "user", "content": "x"}], "model": "mock-model", "max_tokens": 1e308}',
    '{"messages": [{"role": "user", "content": "x"}], "model": "mock-model", "n": 5}',
  ];
  malformed.forEach((body, i) =>
    completion('malformed JSON', `#${i} ${body.slice(0, 30)}`, body, '4xx'),
  );
  out.push({
    group: 'malformed JSON',
    name: 'invalid UTF-8 bytes',
    expect: 400,
    bytes: request(
      'POST',
      '/api/v1/completions',
      tenant(),
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    ),
  });
  out.push({
    group: 'malformed JSON',
    name: 'UTF-16 body',
    expect: '4xx',
    bytes: request(
      'POST',
      '/api/v1/completions',
      tenant(),
      Buffer.from(`\ufeff${JSON.stringify(ask)}`, 'utf16le'),
    ),
  });

  // --- bodies over the limit ------------------------------------------------------------------
  const big = JSON.stringify({
    ...ask,
    messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY_BYTES) }],
  });
  completion('over the limit', '1 MiB + content (Content-Length)', big, 413);
  out.push({
    group: 'over the limit',
    name: '1 MiB + content (chunked)',
    expect: 413,
    bytes: request(
      'POST',
      '/api/v1/completions',
      tenant({ 'Transfer-Encoding': 'chunked' }),
      `${Buffer.byteLength(big).toString(16)}\r\n${big}\r\n0\r\n\r\n`,
    ),
  });
  completion(
    'over the limit',
    'gzip bomb (20 kB → 20 MB)',
    gzipSync(JSON.stringify({ ...ask, pad: ' '.repeat(20 * 1024 * 1024) })),
    413,
    { 'Content-Encoding': 'gzip' },
  );
  out.push({
    group: 'over the limit',
    name: 'admin create body over the limit',
    expect: 413,
    bytes: request('POST', '/api/v1/admin/tenants', admin(), 'x'.repeat(MAX_BODY_BYTES + 10)),
  });

  // --- deep nesting and huge arrays -----------------------------------------------------------
  const depth = 100_000;
  completion(
    'nesting',
    `messages nested ${depth} deep`,
    `{"model":"mock-model","messages":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    400,
  );
  completion(
    'nesting',
    `content nested ${depth / 10} objects deep`,
    `{"model":"mock-model","messages":[{"role":"user","content":${nest(depth / 10)}}]}`,
    400,
  );
  completion(
    'nesting',
    'unknown field nested deep',
    `{"model":"mock-model","x":${'{"a":'.repeat(depth / 10)}1${'}'.repeat(depth / 10)}}`,
    400,
  );
  completion(
    'nesting',
    '100k empty messages',
    JSON.stringify({ model: 'mock-model', messages: new Array(100_000).fill({}) }),
    400,
  );
  completion(
    'nesting',
    '100k messages (over the limit)',
    JSON.stringify({
      model: 'mock-model',
      messages: new Array(100_000).fill({ role: 'user', content: 'x' }),
    }),
    413,
  );
  completion(
    'nesting',
    '2049 messages',
    JSON.stringify({
      model: 'mock-model',
      messages: new Array(2049).fill({ role: 'user', content: 'x' }),
    }),
    400,
  );
  completion(
    'nesting',
    '100k stop sequences',
    JSON.stringify({ ...ask, stop: new Array(100_000).fill('s') }),
    400,
  );

  // --- every control character in every string field ------------------------------------------
  const controls: string[] = [];
  for (let c = 0; c < 0x20; c++) controls.push(String.fromCharCode(c));
  controls.push('\u007f', '\u0085', '\u2028', '\u202e', '\ud800', '\udfff');
  const fields: Array<[string, (ch: string) => object, HostileInput['expect']]> = [
    // A control character is refused; other odd characters just name no model.
    ['model', (ch) => ({ ...ask, model: `mock${ch}model` }), '4xx'],
    ['messages.0.role', (ch) => ({ ...ask, messages: [{ role: `user${ch}`, content: 'x' }] }), 400],
    [
      'messages.0.content',
      (ch) => ({ ...ask, messages: [{ role: 'user', content: `a${ch}b` }] }),
      'ok',
    ],
    [
      'messages.0.content.0.text',
      (ch) => ({
        ...ask,
        messages: [{ role: 'user', content: [{ type: 'text', text: `a${ch}` }] }],
      }),
      'ok',
    ],
    ['user', (ch) => ({ ...ask, user: `u${ch}` }), 'ok'],
    ['stop', (ch) => ({ ...ask, stop: `s${ch}` }), 'ok'],
    ['an unknown field name', (ch) => ({ ...ask, [`f${ch}`]: 1 }), 400],
  ];
  for (const [field, build, expect] of fields) {
    for (const ch of controls) {
      const code = `U+${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
      // NUL and lone surrogates can never be stored: a 400 whatever the field.
      const c = ch.charCodeAt(0);
      const strict = c === 0 || (c >= 0xd800 && c <= 0xdfff);
      const control = c < 0x20 || (c >= 0x7f && c <= 0x9f);
      completion(
        'control characters',
        `${code} in ${field}`,
        JSON.stringify(build(ch)),
        strict || (control && field === 'model') ? 400 : expect,
      );
    }
  }
  for (const ch of controls) {
    const code = `U+${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
    const c = ch.charCodeAt(0);
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xdfff);
    out.push({
      group: 'control characters',
      name: `${code} in a tenant name`,
      expect: control ? 400 : 'ok',
      bytes: request(
        'POST',
        '/api/v1/admin/tenants',
        admin(),
        JSON.stringify({ name: `t${ch}`, rate_limit: 1, monthly_budget: 0 }),
      ),
    });
  }
  for (const [field, value] of [
    ['alert_webhook_url', 'https://example.com/\u0000'],
    ['alert_webhook_secret', 's\u0000'],
    ['allowed_models', ['mock\u0000']],
    ['provider_preferences', ['mock\n']],
  ] as const) {
    out.push({
      group: 'control characters',
      name: `control character in ${field}`,
      expect: 400,
      bytes: request(
        'PATCH',
        `/api/v1/admin/tenants/${keys.tenantId}`,
        admin(),
        JSON.stringify({ [field]: value }),
      ),
    });
  }

  // --- bad encodings --------------------------------------------------------------------------
  const json = JSON.stringify(ask);
  for (const enc of ['gzip', 'deflate', 'br']) {
    completion('encodings', `corrupt ${enc}`, randomBytes(64), 400, { 'Content-Encoding': enc });
  }
  completion('encodings', 'truncated gzip', gzipSync(json).subarray(0, 12), 400, {
    'Content-Encoding': 'gzip',
  });
  completion('encodings', 'truncated br', brotliCompressSync(json).subarray(0, 5), 400, {
    'Content-Encoding': 'br',
  });
  completion('encodings', 'gzip labelled deflate', gzipSync(json), 400, {
    'Content-Encoding': 'deflate',
  });
  completion('encodings', 'deflate labelled br', deflateSync(json), 400, {
    'Content-Encoding': 'br',
  });
  for (const enc of ['compress', 'zstd', 'x-gzip', 'gzip, gzip', 'identity, gzip', 'bogus']) {
    completion('encodings', `Content-Encoding: ${enc}`, json, 415, { 'Content-Encoding': enc });
  }
  completion('encodings', 'charset=latin1', json, '4xx', {
    'Content-Type': 'application/json; charset=latin1',
  });
  completion('encodings', 'text/plain body', json, 400, { 'Content-Type': 'text/plain' });
  completion('encodings', 'multipart body', '--x\r\n\r\n--x--', 400, {
    'Content-Type': 'multipart/form-data; boundary=x',
  });
  completion('encodings', 'form body', 'model=mock-model', 400, {
    'Content-Type': 'application/x-www-form-urlencoded',
  });

  // --- header abuse (raw) ---------------------------------------------------------------------
  const rawReq = (name: string, text: string, expect: HostileInput['expect']) =>
    out.push({ group: 'headers', name, expect, bytes: Buffer.from(text, 'latin1') });
  const h = 'Host: g\r\n';
  rawReq('20 kB cookie', `GET /health HTTP/1.1\r\n${h}Cookie: ${'c'.repeat(20_000)}\r\n\r\n`, 431);
  // 24 kB in 3000 short lines: Node's parser served this (200) on Node 20; any non-5xx will do.
  rawReq(
    '3000 small headers',
    `GET /health HTTP/1.1\r\n${h}${'X-A: b\r\n'.repeat(3000)}\r\n`,
    'ok',
  );
  rawReq('20 kB URL', `GET /health?${'q'.repeat(20_000)} HTTP/1.1\r\n${h}\r\n`, '4xx');
  rawReq('bare LF line ending', `GET /health HTTP/1.1\r\n${h}X-A: b\nX-B: c\r\n\r\n`, '4xx');
  rawReq('LF in a header name', `GET /health HTTP/1.1\r\n${h}X\nA: b\r\n\r\n`, 400);
  rawReq('space before colon', `GET /health HTTP/1.1\r\n${h}X-A : b\r\n\r\n`, 400);
  rawReq('obsolete line folding', `GET /health HTTP/1.1\r\n${h}X-A: b\r\n c\r\n\r\n`, '4xx');
  rawReq(
    'two different Content-Lengths',
    `POST /api/v1/completions HTTP/1.1\r\n${h}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
    400,
  );
  rawReq(
    'non-numeric Content-Length',
    `POST /api/v1/completions HTTP/1.1\r\n${h}Content-Length: abc\r\n\r\n{}`,
    400,
  );
  rawReq(
    'negative Content-Length',
    `POST /api/v1/completions HTTP/1.1\r\n${h}Content-Length: -1\r\n\r\n{}`,
    400,
  );
  rawReq(
    'Transfer-Encoding: gzip',
    `POST /api/v1/completions HTTP/1.1\r\n${h}Transfer-Encoding: gzip\r\n\r\n{}`,
    '4xx',
  );
  rawReq(
    'bad chunk size',
    `POST /api/v1/completions HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    '4xx',
  );
  rawReq('malformed request line', `GET /health HTTP/9.Z\r\n${h}\r\n`, 400);
  rawReq('HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '4xx');
  rawReq('invalid method', `G(T /health HTTP/1.1\r\n${h}\r\n`, 400);
  rawReq('NUL in the target', `GET /he\u0000alth HTTP/1.1\r\n${h}\r\n`, 400);
  rawReq('space in the target', `GET /he alth HTTP/1.1\r\n${h}\r\n`, 400);
  rawReq(
    'control character in a header value',
    `GET /health HTTP/1.1\r\n${h}X-A: a\u0001b\r\n\r\n`,
    400,
  );
  rawReq('only garbage', '\u0000\u0001\u0002garbage\r\n\r\n', 400);
  out.push({
    group: 'headers',
    name: '10 kB API key',
    expect: '4xx',
    bytes: request('GET', '/v1/models', { 'X-API-Key': `llm-gw-${'k'.repeat(10_000)}` }),
  });
  out.push({
    group: 'headers',
    name: 'hostile X-Request-Id',
    expect: 401,
    bytes: request('GET', '/v1/models', { 'X-Request-Id': `../../${'r'.repeat(300)}` }),
  });
  out.push({
    group: 'headers',
    name: 'Bearer with a latin1 byte',
    expect: '4xx',
    bytes: request('GET', '/v1/models', { Authorization: 'Bearer llm-gw-\u00ff\u00fe' }),
  });

  // --- bad query parameters -------------------------------------------------------------------
  const queries: Array<[string, HostileInput['expect'], 'admin' | 'tenant']> = [
    ['/api/v1/admin/audit?tenant_id%5B%24ne%5D=x', 400, 'admin'],
    ['/api/v1/admin/audit?tenant_id[]=x', 400, 'admin'],
    ['/api/v1/admin/audit?limit=1&limit=2', 400, 'admin'],
    ['/api/v1/admin/audit?model=%00', 400, 'admin'],
    ['/api/v1/admin/audit?provider=a%00b', 400, 'admin'],
    ['/api/v1/admin/audit?limit=-1', 400, 'admin'],
    ['/api/v1/admin/audit?limit=99999999999999999999', 400, 'admin'],
    ['/api/v1/admin/audit?cursor=%FF%FE', 400, 'admin'],
    ['/api/v1/admin/audit?from=2025-02-30', 400, 'admin'],
    ['/api/v1/admin/audit?status=success%0A', 400, 'admin'],
    [`/api/v1/admin/audit?${'p'.repeat(5000)}=1`, 400, 'admin'],
    ['/api/v1/admin/usage?group_by=tenant&group_by=model', 400, 'admin'],
    ['/api/v1/admin/usage?group_by=%00', 400, 'admin'],
    ['/api/v1/admin/usage?format[$gt]=', 400, 'admin'],
    ['/api/v1/admin/tenants?limit=5&offset=10', 400, 'admin'],
    ['/api/v1/admin/tenants?cursor=%00', 400, 'admin'],
    [`/api/v1/admin/tenants/${keys.tenantId}/usage?days=1&days=2`, 400, 'admin'],
    [`/api/v1/admin/tenants/${keys.tenantId}/usage?days=1e9`, 400, 'admin'],
    ['/api/v1/admin/providers?x=1', 400, 'admin'],
    ['/api/v1/usage?days[]=1', 400, 'tenant'],
    ['/api/v1/usage?tenant_id=x', 400, 'tenant'],
    ['/v1/models?limit=1', 400, 'tenant'],
  ];
  for (const [path, expect, who] of queries) {
    out.push({
      group: 'query parameters',
      name: path.slice(0, 70),
      expect,
      bytes: request('GET', path, who === 'admin' ? admin() : tenant()),
    });
  }
  out.push({
    group: 'query parameters',
    name: 'cache flush with a bracket tenant_id',
    expect: 400,
    bytes: request('DELETE', '/api/v1/admin/cache?tenant_id[$ne]=x', admin()),
  });
  out.push({
    group: 'query parameters',
    name: 'completion with a query string',
    expect: 400,
    bytes: request('POST', '/api/v1/completions?api-version=2024', tenant(), json),
  });
  return out;
}

/** `depth` objects nested in each other, as JSON text (JSON.stringify would overflow the stack). */
function nest(depth: number): string {
  return `${'{"a":'.repeat(depth)}"x"${'}'.repeat(depth)}`;
}
