import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { assertShallowJson } from './json-depth';
import { assertStorableText, mayHoldUnstorableText } from './storable-text';

/**
 * Why a request body could not be used. `type` uses body-parser's vocabulary
 * (`entity.parse.failed`, `encoding.unsupported`, ...), so both body readers' failures go through
 * the same mapping to docs/api.md §4 (400 / 413).
 */
export class BodyError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const JSON_MEDIA_TYPE = /^application\/json[ \t]*(?:;[ \t]*charset=(?:"utf-8"|utf-8)[ \t]*)?$/i;

/**
 * True when a request's body is plain JSON that `readJsonBody` reads exactly as the Express chain
 * would: `Content-Type: application/json` (UTF-8 or no charset), a `Content-Length` within the
 * limit, no `Content-Encoding` or `Transfer-Encoding`. Anything else (compressed or chunked bodies,
 * other media types, oversized bodies) takes the general path.
 */
export function isPlainJsonBody(req: IncomingMessage, maxBytes: number): boolean {
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined) return false;
  const encoding = h['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const type = h['content-type'];
  if (type === undefined || !JSON_MEDIA_TYPE.test(type)) return false;
  const length = h['content-length'];
  if (length === undefined || !/^\d{1,15}$/.test(length)) return false;
  return Number(length) <= maxBytes;
}

/**
 * Reads a body `isPlainJsonBody` accepted (so its size is already bounded: Node's parser delivers
 * exactly `Content-Length` bytes) and parses it like body-parser's strict JSON reader: empty → `{}`;
 * a UTF-8 byte order mark is skipped; invalid UTF-8, a first character other than `{` or `[`, or
 * invalid JSON reject with a `BodyError`; a string PostgreSQL cannot store (NUL) rejects with a
 * 400 naming its field, like the Express chain's reader.
 */
export function readJsonBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let done = false;
    const aborted = () => {
      if (done) return;
      done = true;
      reject(new BodyError('request.aborted', 400, 'request aborted'));
    };
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('aborted', aborted);
    req.once('error', aborted);
    req.once('end', () => {
      if (done) return;
      done = true;
      try {
        resolve(parseJson(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
      } catch (err) {
        reject(
          err instanceof BodyError || err instanceof GatewayError
            ? err
            : new BodyError('entity.parse.failed', 400, 'invalid JSON'),
        );
      }
    });
  });
}

/**
 * Keeps a body failure on the request context, for authentication to raise once the key is known
 * (so the failure is audited under its tenant), and ends the connection after the answer: the
 * unread rest of a refused body must not be parsed as the next request. Both body readers use it.
 */
export function deferBodyError(ctx: RequestContext, res: ServerResponse, err: unknown): void {
  ctx.bodyError = err;
  res.setHeader('Connection', 'close');
}

/**
 * What both body readers (this one and the Express chain's) check on the raw bytes, before the
 * parse: valid UTF-8 (instead of letting the decoder replace it with U+FFFD; BodyError), and
 * nesting within MAX_JSON_DEPTH (GatewayError naming where; JSON.parse would build every level of
 * a hostile nesting first).
 */
export function assertReadableJson(buf: Buffer): void {
  if (!isUtf8(buf)) throw new BodyError('encoding.unsupported', 400, 'body is not valid UTF-8');
  assertShallowJson(buf);
}

function parseJson(buf: Buffer): unknown {
  assertReadableJson(buf);
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return {};
  const first = /^[ \t\n\r]*(.)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') {
    throw new BodyError('entity.parse.failed', 400, 'JSON body must be an object or an array');
  }
  const body = JSON.parse(text) as unknown;
  if (mayHoldUnstorableText(text)) assertStorableText(body);
  return body;
}
