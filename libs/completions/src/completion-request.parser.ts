import { echoInput, GatewayError } from '@gateway/errors';
import type { ChatMessage, ChatRequest, ChatRole } from '@gateway/providers';

export interface ParsedCompletion {
  readonly model: string;
  readonly request: ChatRequest;
  /** Null for an answer in one piece; how to stream it otherwise (not part of the cache key). */
  readonly stream: StreamOptions | null;
}

export interface StreamOptions {
  /** `stream_options.include_usage`: the client wants the usage chunk before `[DONE]`. */
  readonly includeUsage: boolean;
}

const ROLES: ReadonlySet<string> = new Set<ChatRole>(['system', 'user', 'assistant']);
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'model',
  'messages',
  'temperature',
  'max_tokens',
  'max_completion_tokens',
  'top_p',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'seed',
  'user',
  'stream',
  'stream_options',
  'n',
]);
/** Bounds that keep a single request sane; the model's own output cap is checked by the service. */
const MAX_MESSAGES = 2_048;
const MAX_TOKENS_CEILING = 1_000_000;
const MAX_STOP_SEQUENCES = 4;
// eslint-disable-next-line no-control-regex -- control characters are what it finds.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

/**
 * Validates a completion body by hand: it runs on every request, and a direct check is several
 * times cheaper than class-transformer + class-validator while naming the exact field (`param`,
 * dotted path) in every error (docs/api.md §4 and §7).
 */
export function parseCompletionBody(body: unknown): ParsedCompletion {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('body', 'Request body must be a JSON object.');
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!KNOWN_FIELDS.has(key)) {
      throw invalid(echoInput(key), `Unsupported field '${echoInput(key)}'.`);
    }
  }
  if (b.n !== undefined && b.n !== null && b.n !== 1) {
    throw invalid('n', 'Only n = 1 is supported.');
  }
  const model = b.model;
  if (typeof model !== 'string' || model.length === 0 || model.length > 256) {
    throw invalid('model', "'model' is required and must be a non-empty string.");
  }
  // The alias is recorded and quoted back: no control characters (NUL would fail its record).
  if (CONTROL_CHARACTER.test(model)) {
    throw invalid('model', "'model' must not contain control characters.");
  }
  const request: ChatRequest = {
    messages: parseMessages(b.messages),
    maxTokens: maxTokensOf(b),
    temperature: optionalNumber(b, 'temperature', 0, 2),
    topP: optionalNumber(b, 'top_p', 0, 1),
    stop: parseStop(b.stop),
    presencePenalty: optionalNumber(b, 'presence_penalty', -2, 2),
    frequencyPenalty: optionalNumber(b, 'frequency_penalty', -2, 2),
    seed: optionalInteger(b, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    user: optionalString(b, 'user', 256),
  };
  return { model, request, stream: parseStream(b) };
}

function parseStream(b: Record<string, unknown>): StreamOptions | null {
  const stream = b.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw invalid('stream', "'stream' must be a boolean.");
  }
  const options = b.stream_options;
  if (options === undefined || options === null) {
    return stream === true ? { includeUsage: false } : null;
  }
  if (stream !== true) {
    throw invalid('stream_options', "'stream_options' is only allowed with 'stream: true'.");
  }
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalid('stream_options', "'stream_options' must be an object.");
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'include_usage') {
      throw invalid(`stream_options.${key}`, `Unsupported field 'stream_options.${key}'.`);
    }
  }
  const include = o.include_usage;
  if (include !== undefined && include !== null && typeof include !== 'boolean') {
    throw invalid(
      'stream_options.include_usage',
      "'stream_options.include_usage' must be a boolean.",
    );
  }
  return { includeUsage: include === true };
}

function parseMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid('messages', "'messages' must be a non-empty array.");
  }
  if (value.length > MAX_MESSAGES) {
    throw invalid('messages', `'messages' may hold at most ${MAX_MESSAGES} entries.`);
  }
  return value.map((m: unknown, i) => {
    const at = `messages.${i}`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      throw invalid(at, `'${at}' must be an object with 'role' and 'content'.`);
    }
    const msg = m as Record<string, unknown>;
    for (const key of Object.keys(msg)) {
      if (key !== 'role' && key !== 'content' && key !== 'name') {
        const field = `${at}.${echoInput(key)}`;
        throw invalid(field, `Unsupported field '${field}'.`);
      }
    }
    if (typeof msg.role !== 'string' || !ROLES.has(msg.role)) {
      throw invalid(`${at}.role`, `'${at}.role' must be one of system, user, assistant.`);
    }
    const content = contentText(msg.content, `${at}.content`);
    return { role: msg.role as ChatRole, content };
  });
}

/** A string, or OpenAI's array of text parts (joined); NUL characters are refused. */
function contentText(value: unknown, at: string): string {
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else if (Array.isArray(value) && value.length > 0) {
    text = value
      .map((part: unknown, j) => {
        const p = part as Record<string, unknown> | null;
        if (!p || p.type !== 'text' || typeof p.text !== 'string') {
          throw invalid(`${at}.${j}`, `'${at}.${j}' must be a text part {type: 'text', text}.`);
        }
        return p.text;
      })
      .join('');
  } else {
    throw invalid(at, `'${at}' must be a string.`);
  }
  if (text.includes('\u0000')) throw invalid(at, `'${at}' must not contain NUL characters.`);
  return text;
}

function maxTokensOf(b: Record<string, unknown>): number | null {
  const a = optionalInteger(b, 'max_tokens', 1, MAX_TOKENS_CEILING);
  const c = optionalInteger(b, 'max_completion_tokens', 1, MAX_TOKENS_CEILING);
  if (a !== null && c !== null && a !== c) {
    throw invalid('max_completion_tokens', "'max_tokens' and 'max_completion_tokens' disagree.");
  }
  return a ?? c;
}

function parseStop(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  const list = typeof value === 'string' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length > MAX_STOP_SEQUENCES ||
    list.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 256)
  ) {
    throw invalid(
      'stop',
      `'stop' must be a string or up to ${MAX_STOP_SEQUENCES} non-empty strings.`,
    );
  }
  return list as string[];
}

function optionalNumber(
  b: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
): number | null {
  const v = b[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw invalid(key, `'${key}' must be a number between ${min} and ${max}.`);
  }
  return v;
}

function optionalInteger(
  b: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
): number | null {
  const v = b[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(key, `'${key}' must be a whole number between ${min} and ${max}.`);
  }
  return v;
}

function optionalString(b: Record<string, unknown>, key: string, maxLength: number): string | null {
  const v = b[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > maxLength) {
    throw invalid(key, `'${key}' must be a string of at most ${maxLength} characters.`);
  }
  return v;
}
