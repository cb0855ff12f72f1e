import { maxHeaderSize, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ErrorCode, GatewayError, mapError } from '@gateway/errors';
import { chooseRequestId } from '@gateway/observability';

/** Where a parser failure is reported (one line per refused connection); null for none. */
export interface ClientErrorLog {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/**
 * The error a request gets when Node's HTTP parser refuses it before any route sees it: the same
 * JSON as every other error instead of Node's empty 400. `code` is the parser's (`HPE_*`) or
 * Node's own code; the message names it, since that is what an operator searching for the cause
 * needs, and never quotes the offending bytes.
 */
export function parserError(code: string | undefined): GatewayError {
  const fail = (c: ErrorCode, message: string) => new GatewayError(c, message);
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return fail(
        'headers_too_large',
        `The request's header section is larger than ${maxHeaderSize} bytes.`,
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return fail('request_timeout', 'The request was not received in time.');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return fail('request_too_large', 'The chunk extensions of the request are too large.');
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return fail(
        'invalid_request',
        'A request may not carry both Content-Length and Transfer-Encoding.',
      );
    default:
      return fail(
        'invalid_request',
        `Malformed HTTP request${code !== undefined && /^[A-Z_]{1,40}$/.test(code) ? ` (${code})` : ''}.`,
      );
  }
}

/** The raw HTTP/1.1 response for a parser failure: JSON body, request id, connection closed. */
export function parserErrorResponse(code: string | undefined, requestId: string): string {
  const mapped = mapError(parserError(code), requestId);
  const body = JSON.stringify(mapped.body);
  return (
    `HTTP/1.1 ${mapped.status} ${STATUS_CODES[mapped.status] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${requestId}\r\n` +
    'Cache-Control: no-store\r\n' +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** What Node keeps on a socket about the response being written on it, if any. */
interface InFlight {
  _httpMessage?: { headersSent?: boolean; getHeader?(name: string): unknown } | null;
}

/**
 * Answers the HTTP parser's refusals (a header section over the limit → 431, bare CR or LF in a
 * header, Content-Length with Transfer-Encoding, a malformed request line → 400, a request not
 * received within the server's request timeout → 408) with the gateway's JSON errors, then closes
 * the connection: after a framing error, nothing more can be read from it safely. Like Node's
 * default handler, it writes nothing when a response on the socket has already begun (the bytes
 * would corrupt it) and nothing to a peer that reset the connection.
 */
export function installClientErrorHandler(server: Server, log: ClientErrorLog | null): void {
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    const inFlight = (socket as Duplex & InFlight)._httpMessage ?? null;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const requestId = chooseRequestId(readHeader(inFlight, 'x-request-id'));
    const response = parserErrorResponse(err.code, requestId);
    log?.warn({ req: { id: requestId }, code: err.code }, 'HTTP parser refused a request');
    socket.end(response, () => socket.destroy());
  });
}

function readHeader(res: InFlight['_httpMessage'], name: string): string | undefined {
  const value = res?.getHeader?.(name);
  return typeof value === 'string' ? value : undefined;
}
