/*
 * A fake LLM provider for tests and drills: a real node:http server on 127.0.0.1 speaking
 * OpenAI Chat Completions (`POST /v1/chat/completions`, `GET /v1/models`) and Anthropic Messages
 * (`POST /v1/messages`, `GET /v1/models` with an `anthropic-version` header), switchable at
 * runtime between healthy and every failure the gateway must survive.
 *
 * Point a catalog at it with `base_url: <url>/v1` for OpenAI-type providers and `base_url: <url>`
 * for Anthropic.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FakeMode =
  /** Normal answers. */
  | 'ok'
  /** Normal answers after `delayMs`. */
  | 'delay'
  /** 500 with the provider's server_error / api_error body. */
  | '500'
  /** 503 with an "overloaded" body. */
  | '503'
  /** Anthropic's 529 overloaded_error (OpenAI paths answer 503). */
  | 'overloaded'
  /** 429 with `Retry-After: retryAfterSeconds` and the provider's rate-limit body. */
  | '429'
  /** 400 with the provider's invalid_request body (e.g. context too long). */
  | '400'
  /** 401 with the provider's authentication body. */
  | '401'
  /** The listener is closed and open connections destroyed: connection refused. */
  | 'refuse'
  /** Headers and half a body, then a TCP reset. */
  | 'reset'
  /** Accepts the request and never answers. */
  | 'hang'
  /** 200 with a body that is not JSON. */
  | 'garbage'
  /** 200 with valid JSON lacking the required fields (choices / content, usage). */
  | 'missing_fields'
  /** 200 with a valid answer of `tooLargeBytes` bytes (chunked, no content-length unless asked). */
  | 'too_large'
  /** Streamed requests: `streamAfter` text events, then a TCP reset (non-stream requests: `ok`). */
  | 'stream_cut'
  /** Streamed requests: `streamAfter` text events, then silence with the connection open. */
  | 'stream_stall'
  /** Streamed requests: `streamAfter` text events, then an event that is not JSON, then silence. */
  | 'stream_garbage';

export interface FakeModeOptions {
  /** `delay` mode, and added before any answer in other modes. Default 0 (delay mode: 1000). */
  delayMs?: number;
  /** `429` mode. Default 1. */
  retryAfterSeconds?: number;
  /** `too_large` mode. Default 9 MiB (above the gateway's default 8 MiB cap). */
  tooLargeBytes?: number;
  /** `too_large` mode: send a content-length header (tests the early refusal). */
  declareLength?: boolean;
  /** Error message for `400` (default: a context-length message in the provider's words). */
  message?: string;
  /**
   * Which requests the mode applies to: `all` (default for connection-level and 5xx/429 modes,
   * so health checks see the outage too) or `chat` (default for body-level modes: garbage,
   * missing_fields, too_large, 400, 401), leaving `/v1/models` healthy.
   */
  scope?: 'all' | 'chat';
  /** Streaming modes: text events sent before the failure. Default 3. */
  streamAfter?: number;
  /** Streams: wait between events (ms). Default 0. */
  eventDelayMs?: number;
}

export interface FakeUpstreamOptions extends FakeModeOptions {
  /** Shown in answers (`fake answer from <name>`), so a test sees who answered. */
  name?: string;
  mode?: FakeMode;
  /** When set, requests without this key (Bearer or x-api-key) get the provider's 401. */
  apiKey?: string;
  /** Fixed port (default: a free one). */
  port?: number;
}

export interface CapturedRequest {
  method: string;
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON body, or the raw text when it is not JSON, or null without a body. */
  body: unknown;
  /** `openai` or `anthropic`: the wire format the request used. */
  format: 'openai' | 'anthropic';
}

export interface FakeStats {
  /** Every request that reached the server. */
  requests: number;
  /** Chat requests (`/v1/chat/completions` and `/v1/messages`). */
  chat: number;
  /** Model-list requests (health checks). */
  models: number;
  byPath: Readonly<Record<string, number>>;
  /** Chat requests answered with a 2xx. */
  chatOk: number;
  /** Streamed answers begun, ended cleanly, and closed by the client before their end. */
  streams: { opened: number; completed: number; closedByClient: number };
  mode: FakeMode;
}

export interface FakeUpstream {
  /** `http://127.0.0.1:<port>` (append `/v1` for OpenAI-type base URLs). */
  readonly url: string;
  readonly port: number;
  /** The last request received (any path), for assertions on the wire format. */
  readonly lastRequest: CapturedRequest | null;
  /** The last chat request received. */
  readonly lastChatRequest: CapturedRequest | null;
  /** Switches mode; await it (`refuse` closes the listener, leaving it reopens it). */
  setMode(mode: FakeMode, opts?: FakeModeOptions): Promise<void>;
  stats(): FakeStats;
  /** Counters and captures to zero, mode `ok`. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

const STREAM_MODES: ReadonlySet<FakeMode> = new Set([
  'stream_cut',
  'stream_stall',
  'stream_garbage',
]);
const CHAT_SCOPED: ReadonlySet<FakeMode> = new Set([
  'garbage',
  'missing_fields',
  'too_large',
  '400',
  '401',
]);

export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const name = opts.name ?? 'fake';
  let mode: FakeMode = opts.mode ?? 'ok';
  let modeOpts: FakeModeOptions = pickModeOptions(opts);
  const sockets = new Set<Socket>();
  let counters = emptyCounters();
  let lastRequest: CapturedRequest | null = null;
  let lastChatRequest: CapturedRequest | null = null;
  let listening = false;

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch(() => res.socket?.destroy());
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0];
    const format: 'openai' | 'anthropic' =
      path === '/v1/messages' || req.headers['anthropic-version'] !== undefined
        ? 'anthropic'
        : 'openai';
    const captured: CapturedRequest = {
      method: req.method ?? 'GET',
      path,
      headers: { ...req.headers },
      body: parseMaybeJson(raw),
      format,
    };
    lastRequest = captured;
    counters.requests++;
    counters.byPath[path] = (counters.byPath[path] ?? 0) + 1;

    const isChat =
      req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/messages');
    const isModels = req.method === 'GET' && path === '/v1/models';
    if (isChat) {
      counters.chat++;
      lastChatRequest = captured;
    }
    if (isModels) counters.models++;
    if (!isChat && !isModels) {
      return sendJson(res, 404, errorBody(format, 404, 'not_found_error', `Unknown path ${path}`));
    }

    const current = mode;
    const o = modeOpts;
    const scope = o.scope ?? (CHAT_SCOPED.has(current) ? 'chat' : 'all');
    const wantsStream = isChat && (captured.body as { stream?: unknown } | null)?.stream === true;
    let effective: FakeMode = scope === 'chat' && !isChat ? 'ok' : current;
    if (STREAM_MODES.has(effective) && !wantsStream) effective = 'ok';

    const delay = effective === 'delay' ? (o.delayMs ?? 1000) : (o.delayMs ?? 0);
    if (delay > 0) await sleep(delay);

    if (opts.apiKey !== undefined && !hasKey(req, opts.apiKey)) {
      return sendJson(
        res,
        401,
        errorBody(format, 401, 'authentication_error', 'invalid x-api-key'),
      );
    }

    switch (effective) {
      case 'hang':
        return; // the socket stays open until the client gives up or close() destroys it
      case 'refuse':
        // A request that slipped in on a connection accepted just before the switch.
        res.socket?.destroy();
        return;
      case 'reset': {
        const body = JSON.stringify(
          isChat ? okChat(format, name, captured.body) : okModels(format),
        );
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        });
        res.write(body.slice(0, Math.floor(body.length / 2)));
        setTimeout(() => res.socket?.resetAndDestroy(), 5);
        return;
      }
      case '500':
        return sendJson(
          res,
          500,
          errorBody(
            format,
            500,
            format === 'openai' ? 'server_error' : 'api_error',
            'The server had an error while processing your request. Sorry about that!',
          ),
        );
      case '503':
        return sendJson(
          res,
          503,
          errorBody(format, 503, 'overloaded_error', 'The engine is currently overloaded'),
        );
      case 'overloaded':
        return sendJson(
          res,
          format === 'anthropic' ? 529 : 503,
          errorBody(format, 529, 'overloaded_error', 'Overloaded'),
        );
      case '429':
        res.setHeader('retry-after', String(o.retryAfterSeconds ?? 1));
        return sendJson(
          res,
          429,
          errorBody(
            format,
            429,
            format === 'openai' ? 'requests' : 'rate_limit_error',
            'Rate limit reached for requests. Please try again later.',
            'rate_limit_exceeded',
          ),
        );
      case '400':
        return sendJson(
          res,
          400,
          errorBody(
            format,
            400,
            'invalid_request_error',
            o.message ??
              (format === 'openai'
                ? "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages."
                : 'prompt is too long: 250000 tokens > 200000 maximum'),
            'context_length_exceeded',
          ),
        );
      case '401':
        return sendJson(
          res,
          401,
          errorBody(
            format,
            401,
            format === 'openai' ? 'invalid_request_error' : 'authentication_error',
            format === 'openai'
              ? 'Incorrect API key provided: sk-test-****************0000. You can find your API key at https://platform.openai.com/account/api-keys.'
              : 'invalid x-api-key',
            'invalid_api_key',
          ),
        );
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id": "chatcmpl-garbage", "choices": [ <html>502 Bad Gateway</html>');
        return;
      case 'missing_fields':
        return sendJson(
          res,
          200,
          format === 'openai'
            ? { id: 'chatcmpl-missing', object: 'chat.completion', created: 1, model: 'x' }
            : { id: 'msg_missing', type: 'message', role: 'assistant', model: 'x' },
        );
      case 'too_large':
        return sendTooLarge(res, format, name, captured.body, o);
      case 'ok':
      case 'delay':
      case 'stream_cut':
      case 'stream_stall':
      case 'stream_garbage':
        break;
    }

    if (isModels) return sendJson(res, 200, okModels(format));
    const invalid = validateChat(format, captured.body);
    if (invalid)
      return sendJson(res, 400, errorBody(format, 400, 'invalid_request_error', invalid));
    counters.chatOk++;
    if (wantsStream) return streamChat(res, format, name, captured.body, effective, o, counters);
    return sendJson(res, 200, okChat(format, name, captured.body));
  }

  await listen(server, opts.port ?? 0);
  listening = true;
  const port = (server.address() as AddressInfo).port;

  async function setMode(next: FakeMode, options: FakeModeOptions = {}): Promise<void> {
    mode = next;
    modeOpts = options;
    if (next === 'refuse' && listening) {
      listening = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    } else if (next !== 'refuse' && !listening) {
      await listen(server, port);
      listening = true;
    }
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get lastRequest() {
      return lastRequest;
    },
    get lastChatRequest() {
      return lastChatRequest;
    },
    setMode,
    stats: () => ({
      ...counters,
      byPath: { ...counters.byPath },
      streams: { ...counters.streams },
      mode,
    }),
    async reset() {
      await setMode('ok');
      counters = emptyCounters();
      lastRequest = null;
      lastChatRequest = null;
    },
    async close() {
      mode = 'refuse';
      for (const s of sockets) s.destroy();
      if (listening) {
        listening = false;
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

function pickModeOptions(o: FakeModeOptions): FakeModeOptions {
  return {
    delayMs: o.delayMs,
    retryAfterSeconds: o.retryAfterSeconds,
    tooLargeBytes: o.tooLargeBytes,
    declareLength: o.declareLength,
    message: o.message,
    scope: o.scope,
    streamAfter: o.streamAfter,
    eventDelayMs: o.eventDelayMs,
  };
}

function emptyCounters(): Omit<FakeStats, 'mode'> & { byPath: Record<string, number> } {
  return {
    requests: 0,
    chat: 0,
    models: 0,
    chatOk: 0,
    byPath: {},
    streams: { opened: 0, completed: 0, closedByClient: 0 },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseMaybeJson(raw: string): unknown {
  if (raw === '') return null;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function hasKey(req: IncomingMessage, key: string): boolean {
  return req.headers.authorization === `Bearer ${key}` || req.headers['x-api-key'] === key;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** The providers' documented error shapes. */
function errorBody(
  format: 'openai' | 'anthropic',
  status: number,
  type: string,
  message: string,
  code: string | null = null,
): unknown {
  if (format === 'anthropic') return { type: 'error', error: { type, message } };
  return { error: { message, type, param: status === 400 ? 'messages' : null, code } };
}

interface LooseChat {
  model?: unknown;
  messages?: Array<{ role?: unknown; content?: unknown }>;
  max_tokens?: unknown;
}

function validateChat(format: 'openai' | 'anthropic', body: unknown): string | null {
  const b = (body ?? {}) as LooseChat;
  if (typeof b.model !== 'string') return 'model: Field required';
  if (!Array.isArray(b.messages) || b.messages.length === 0) return 'messages: Field required';
  if (format === 'anthropic') {
    if (typeof b.max_tokens !== 'number') return 'max_tokens: Field required';
    if (b.messages.some((m) => m.role === 'system')) {
      return 'messages: Unexpected role "system". Use the top-level `system` parameter.';
    }
  }
  return null;
}

function lastUserText(body: unknown): string {
  const messages = ((body ?? {}) as LooseChat).messages ?? [];
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === 'user' && typeof messages[i].content === 'string') {
      return messages[i].content as string;
    }
  }
  return '';
}

function promptTokens(body: unknown): number {
  const b = (body ?? {}) as LooseChat & { system?: unknown };
  let chars = typeof b.system === 'string' ? b.system.length : 0;
  for (const m of b.messages ?? []) chars += typeof m.content === 'string' ? m.content.length : 0;
  return Math.max(1, Math.ceil(chars / 4));
}

function okChat(format: 'openai' | 'anthropic', name: string, body: unknown, content?: string) {
  const model =
    typeof (body as LooseChat | null)?.model === 'string' ? (body as LooseChat).model : 'x';
  const text = content ?? `fake answer from ${name}: ${lastUserText(body).slice(0, 200)}`;
  const completion = text.split(/\s+/).filter(Boolean).length;
  const prompt = promptTokens(body);
  if (format === 'anthropic') {
    return {
      id: 'msg_01FakeUpstream',
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: prompt, output_tokens: completion },
    };
  }
  return {
    id: 'chatcmpl-FakeUpstream',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    },
  };
}

function okModels(format: 'openai' | 'anthropic') {
  if (format === 'anthropic') {
    return {
      data: [
        {
          type: 'model',
          id: 'claude-sonnet-4-5',
          display_name: 'Claude Sonnet 4.5',
          created_at: '2025-09-29T00:00:00Z',
        },
      ],
      has_more: false,
      first_id: 'claude-sonnet-4-5',
      last_id: 'claude-sonnet-4-5',
    };
  }
  return {
    object: 'list',
    data: [{ id: 'gpt-4o-mini', object: 'model', created: 1721172741, owned_by: 'system' }],
  };
}

function sendTooLarge(
  res: ServerResponse,
  format: 'openai' | 'anthropic',
  name: string,
  body: unknown,
  o: FakeModeOptions,
): void {
  const size = o.tooLargeBytes ?? 9 * 1024 * 1024;
  const filler = 'x'.repeat(Math.max(0, size));
  const text = JSON.stringify(okChat(format, name, body, filler));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.declareLength) headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(200, headers);
  // Chunked writes, so a client that counts bytes can stop early.
  const chunk = 64 * 1024;
  let offset = 0;
  const pump = () => {
    while (offset < text.length) {
      const ok = res.write(text.slice(offset, offset + chunk));
      offset += chunk;
      if (!ok) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.on('error', () => undefined);
  pump();
}

/**
 * A streamed answer in the provider's SSE format, as the real APIs send it: OpenAI chunks (role
 * first, one chunk per word, the finish chunk, the usage-only chunk when `stream_options.
 * include_usage` asked for it, `[DONE]`); Anthropic events (message_start with input tokens,
 * content_block_start, a ping, text deltas, content_block_stop, message_delta with the output
 * tokens, message_stop). The streaming failure modes break it after `streamAfter` text events.
 */
function streamChat(
  res: ServerResponse,
  format: 'openai' | 'anthropic',
  name: string,
  body: unknown,
  mode: FakeMode,
  o: FakeModeOptions,
  counters: { streams: { opened: number; completed: number; closedByClient: number } },
): void {
  const answer = okChat(format, name, body) as { model: string };
  const full = okChat('openai', name, body) as {
    choices: Array<{ message: { content: string } }>;
    usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  };
  const words = full.choices[0].message.content.split(' ');
  const usage = full.usage;
  const includeUsage =
    (body as { stream_options?: { include_usage?: unknown } } | null)?.stream_options
      ?.include_usage === true;
  const events: string[] = [];
  const textEvents: number[] = [];
  if (format === 'openai') {
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({
        id: 'chatcmpl-FakeStream',
        object: 'chat.completion.chunk',
        created: 1741570283,
        model: answer.model,
        system_fingerprint: 'fp_fake',
        choices,
        ...(includeUsage ? { usage: null } : {}),
        ...extra,
      })}\n\n`;
    const choice = (delta: unknown, finish: string | null = null) => [
      { index: 0, delta, logprobs: null, finish_reason: finish },
    ];
    events.push(chunk(choice({ role: 'assistant', content: '', refusal: null })));
    words.forEach((w, i) => {
      textEvents.push(events.length);
      events.push(chunk(choice({ content: i === 0 ? w : ` ${w}` })));
    });
    events.push(chunk(choice({}, 'stop')));
    if (includeUsage) events.push(chunk([], { usage }));
    events.push('data: [DONE]\n\n');
  } else {
    const ev = (type: string, data: Record<string, unknown>) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    events.push(
      ev('message_start', {
        message: {
          id: 'msg_01FakeStream',
          type: 'message',
          role: 'assistant',
          model: answer.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: usage.prompt_tokens, output_tokens: 1 },
        },
      }),
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      'event: ping\ndata: {"type": "ping"}\n\n',
    );
    words.forEach((w, i) => {
      textEvents.push(events.length);
      events.push(
        ev('content_block_delta', {
          index: 0,
          delta: { type: 'text_delta', text: i === 0 ? w : ` ${w}` },
        }),
      );
    });
    events.push(
      ev('content_block_stop', { index: 0 }),
      ev('message_delta', {
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: usage.completion_tokens },
      }),
      ev('message_stop', {}),
    );
  }
  const breakAt =
    mode === 'ok' || mode === 'delay'
      ? events.length
      : (textEvents[Math.min(o.streamAfter ?? 3, textEvents.length) - 1] ?? 0) + 1;

  counters.streams.opened++;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  });
  res.on('error', () => undefined);
  let cutHere = false;
  res.on('close', () => {
    if (!res.writableEnded && !cutHere) counters.streams.closedByClient++;
  });
  let i = 0;
  const delay = o.eventDelayMs ?? 0;
  const next = () => {
    if (res.destroyed) return;
    if (i < breakAt) {
      const ok = res.write(events[i++]);
      if (!ok) res.once('drain', () => setTimeout(next, delay));
      else setTimeout(next, delay);
      return;
    }
    if (breakAt >= events.length) {
      counters.streams.completed++;
      res.end();
    } else if (mode === 'stream_cut') {
      cutHere = true;
      setTimeout(() => res.socket?.resetAndDestroy(), 5);
    } else if (mode === 'stream_garbage') {
      res.write('data: {"id": "chatcmpl-FakeStream", <html>502 Bad Gateway</html>\n\n');
    }
    // stream_stall: nothing more, the connection stays open.
  };
  next();
}
