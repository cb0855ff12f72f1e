import { GatewayError } from '@gateway/errors';
import type { ChatMessage } from '@gateway/providers';
import type { ParsedCompletion } from './completion-request.parser';

const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'model',
  'max_tokens',
  'messages',
  'system',
  'stop_sequences',
  'temperature',
  'top_p',
  'metadata',
  'stream',
]);
const MAX_MESSAGES = 2_048;
const MAX_TOKENS_CEILING = 1_000_000;
/** The same bound as OpenAI's `stop`, so a request can fall back to either kind of provider. */
const MAX_STOP_SEQUENCES = 4;

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

/**
 * Validates an Anthropic Messages request (`POST /v1/messages`) into the same parsed completion
 * the OpenAI paths produce: `system` becomes a leading system message, text blocks are joined,
 * `metadata.user_id` is the end-user id. Fields the gateway cannot honour on every provider
 * (tools, images, `top_k`, thinking) are refused by name rather than silently dropped.
 */
export function parseAnthropicBody(body: unknown): ParsedCompletion {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('body', 'Request body must be a JSON object.');
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!KNOWN_FIELDS.has(key)) throw invalid(key, `Unsupported field '${key}'.`);
  }
  const model = b.model;
  if (typeof model !== 'string' || model.length === 0 || model.length > 256) {
    throw invalid('model', "'model' is required and must be a non-empty string.");
  }
  const maxTokens = b.max_tokens;
  if (
    typeof maxTokens !== 'number' ||
    !Number.isInteger(maxTokens) ||
    maxTokens < 1 ||
    maxTokens > MAX_TOKENS_CEILING
  ) {
    throw invalid('max_tokens', "'max_tokens' is required and must be a positive whole number.");
  }
  const messages: ChatMessage[] = [];
  if (b.system !== undefined && b.system !== null) {
    const system = textOf(b.system, 'system');
    if (system !== '') messages.push({ role: 'system', content: system });
  }
  messages.push(...parseMessages(b.messages));
  const stream = b.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw invalid('stream', "'stream' must be a boolean.");
  }
  return {
    model,
    request: {
      messages,
      maxTokens,
      temperature: optionalNumber(b.temperature, 'temperature', 0, 1),
      topP: optionalNumber(b.top_p, 'top_p', 0, 1),
      stop: parseStop(b.stop_sequences),
      presencePenalty: null,
      frequencyPenalty: null,
      seed: null,
      user: userOf(b.metadata),
    },
    // Anthropic's events always end with the usage: nothing to ask for.
    stream: stream === true ? { includeUsage: true } : null,
  };
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
      if (key !== 'role' && key !== 'content') {
        throw invalid(`${at}.${key}`, `Unsupported field '${at}.${key}'.`);
      }
    }
    if (msg.role !== 'user' && msg.role !== 'assistant') {
      throw invalid(`${at}.role`, `'${at}.role' must be one of user, assistant.`);
    }
    return { role: msg.role, content: textOf(msg.content, `${at}.content`) };
  });
}

/** A string, or an array of text blocks (`{type: 'text', text}`, `cache_control` allowed), joined. */
function textOf(value: unknown, at: string): string {
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else if (Array.isArray(value) && value.length > 0) {
    text = value
      .map((block: unknown, j) => {
        const p = block as Record<string, unknown> | null;
        if (!p || typeof p !== 'object' || p.type !== 'text' || typeof p.text !== 'string') {
          throw invalid(`${at}.${j}`, `'${at}.${j}' must be a text block {type: 'text', text}.`);
        }
        return p.text;
      })
      .join('');
  } else {
    throw invalid(at, `'${at}' must be a string or a non-empty array of text blocks.`);
  }
  if (text.includes('\u0000')) throw invalid(at, `'${at}' must not contain NUL characters.`);
  return text;
}

function parseStop(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  if (
    !Array.isArray(value) ||
    value.length > MAX_STOP_SEQUENCES ||
    value.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 256)
  ) {
    throw invalid(
      'stop_sequences',
      `'stop_sequences' must be an array of up to ${MAX_STOP_SEQUENCES} non-empty strings.`,
    );
  }
  return value as string[];
}

function userOf(metadata: unknown): string | null {
  if (metadata === undefined || metadata === null) return null;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw invalid('metadata', "'metadata' must be an object.");
  }
  const userId = (metadata as Record<string, unknown>).user_id;
  if (userId === undefined || userId === null) return null;
  if (typeof userId !== 'string' || userId.length > 256) {
    throw invalid(
      'metadata.user_id',
      "'metadata.user_id' must be a string of at most 256 characters.",
    );
  }
  return userId;
}

function optionalNumber(v: unknown, key: string, min: number, max: number): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw invalid(key, `'${key}' must be a number between ${min} and ${max}.`);
  }
  return v;
}
