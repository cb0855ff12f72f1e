/*
 * A fake embeddings provider for tests: a real node:http server on 127.0.0.1 speaking OpenAI's
 * embeddings wire format (`POST /v1/embeddings`, `GET /v1/models`) as OpenAI, Ollama and vLLM do,
 * switchable at runtime between healthy and the failures fallback must survive.
 *
 * Vectors are a pure function of the server's name, the text and the length (`fakeVector`), so a
 * test can tell which upstream answered and compare the gateway's answer with the upstream's bit
 * for bit. Point a catalog at it with `base_url: <url>/v1`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FakeEmbeddingsMode =
  /** Normal answers. */
  | 'ok'
  /** Normal answers after 400 ms (keeps a request in flight). */
  | 'slow'
  /** 500 with OpenAI's server_error body. */
  | '500'
  /** 429 with `Retry-After: 1` and OpenAI's rate-limit body. */
  | '429'
  /** 400 with OpenAI's invalid_request_error body (input too long). */
  | '400'
  /** Accepts the request and never answers. */
  | 'hang'
  /** 200 with a body that is not JSON. */
  | 'garbage'
  /** Normal answers that ignore the requested `dimensions` (a server without shortening). */
  | 'ignore_dimensions';

export interface FakeEmbeddingsOptions {
  /** Part of every vector's seed, so a test sees who answered. Default `fake`. */
  name?: string;
  /** Vector length when the request has no `dimensions`. Default 16. */
  dimensions?: number;
  /** When set, requests without `Authorization: Bearer <apiKey>` get OpenAI's 401. */
  apiKey?: string;
}

export interface CapturedEmbeddingsRequest {
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Record<string, unknown> | null;
}

export interface FakeEmbeddingsUpstream {
  /** `http://127.0.0.1:<port>` (append `/v1` for the base URL). */
  readonly url: string;
  /** Embedding requests received (any answer). */
  readonly calls: number;
  readonly lastRequest: CapturedEmbeddingsRequest | null;
  setMode(mode: FakeEmbeddingsMode): void;
  reset(): void;
  close(): Promise<void>;
}

/** The vector a fake named `name` returns for `text`: SHA-256 bytes scaled to [-1, 1), float32. */
export function fakeVector(name: string, text: string, length: number): Float32Array {
  const vector = new Float32Array(length);
  for (let i = 0; i < length; i += 16) {
    const digest = createHash('sha256').update(`${name}\u0000${i}\u0000${text}`).digest();
    for (let j = 0; j < 16 && i + j < length; j++) {
      vector[i + j] = digest.readUInt16LE(j * 2) / 32_768 - 1;
    }
  }
  return vector;
}

/** What the fake charges for `texts`: ⌈characters ÷ 4⌉ per text. */
export function fakePromptTokens(texts: readonly string[]): number {
  return texts.reduce((n, t) => n + Math.max(1, Math.ceil(t.length / 4)), 0);
}

export async function startFakeEmbeddingsUpstream(
  opts: FakeEmbeddingsOptions = {},
): Promise<FakeEmbeddingsUpstream> {
  const name = opts.name ?? 'fake';
  let mode: FakeEmbeddingsMode = 'ok';
  let calls = 0;
  let lastRequest: CapturedEmbeddingsRequest | null = null;
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.socket?.destroy());
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      return send(res, 200, { object: 'list', data: [] });
    }
    if (req.method !== 'POST' || path !== '/v1/embeddings') {
      return send(res, 404, openAiError(`Unknown path ${path}`, 'invalid_request_error'));
    }
    calls++;
    let body: Record<string, unknown> | null = null;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      body = null;
    }
    lastRequest = { path, headers: { ...req.headers }, body };
    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      return send(res, 401, openAiError('Incorrect API key provided.', 'invalid_request_error'));
    }
    switch (mode) {
      case 'hang':
        return; // the socket stays open until the client gives up or close() destroys it
      case '500':
        return send(res, 500, openAiError('The server had an error.', 'server_error'));
      case '429':
        res.setHeader('retry-after', '1');
        return send(res, 429, openAiError('Rate limit reached for requests.', 'requests'));
      case '400':
        return send(
          res,
          400,
          openAiError(
            "This model's maximum context length is 8192 tokens, however you requested 9012 tokens.",
            'invalid_request_error',
          ),
        );
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"object": "list", "data": [ <html>502 Bad Gateway</html>');
        return;
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, 400));
        break;
      case 'ok':
      case 'ignore_dimensions':
        break;
    }
    const input = body?.input;
    const texts = typeof input === 'string' ? [input] : input;
    if (typeof body?.model !== 'string' || !Array.isArray(texts) || texts.length === 0) {
      return send(res, 400, openAiError("'$.input' is invalid.", 'invalid_request_error'));
    }
    const asked = typeof body.dimensions === 'number' ? body.dimensions : null;
    const length = mode === 'ignore_dimensions' || asked === null ? (opts.dimensions ?? 16) : asked;
    const base64 = body.encoding_format === 'base64';
    return send(res, 200, {
      object: 'list',
      data: (texts as string[]).map((text, index) => {
        const vector = fakeVector(name, String(text), length);
        return {
          object: 'embedding',
          index,
          embedding: base64 ? toBase64(vector) : Array.from(vector),
        };
      }),
      model: body.model,
      usage: {
        prompt_tokens: fakePromptTokens(texts as string[]),
        total_tokens: fakePromptTokens(texts as string[]),
      },
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get calls() {
      return calls;
    },
    get lastRequest() {
      return lastRequest;
    },
    setMode(next) {
      mode = next;
    },
    reset() {
      mode = 'ok';
      calls = 0;
      lastRequest = null;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function toBase64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
  return bytes.toString('base64');
}

function openAiError(message: string, type: string) {
  return { error: { message, type, param: null, code: null } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
