import { parserError, parserErrorResponse } from './client-error';

describe('parserError', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 431, 'headers_too_large'],
    ['HPE_UNEXPECTED_CONTENT_LENGTH', 400, 'invalid_request'],
    ['HPE_INVALID_HEADER_TOKEN', 400, 'invalid_request'],
    ['HPE_LF_EXPECTED', 400, 'invalid_request'],
    ['HPE_INVALID_METHOD', 400, 'invalid_request'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'request_timeout'],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 413, 'request_too_large'],
    [undefined, 400, 'invalid_request'],
  ])('%s → %d %s', (code, status, errorCode) => {
    const e = parserError(code);
    expect([e.status, e.code]).toEqual([status, errorCode]);
  });
});

describe('parserErrorResponse', () => {
  it('is a complete HTTP/1.1 response with a JSON error body, closing the connection', () => {
    const raw = parserErrorResponse('HPE_HEADER_OVERFLOW', 'rid-7');
    const [head, body] = raw.split('\r\n\r\n');
    const lines = head.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(lines).toEqual(
      expect.arrayContaining([
        'Content-Type: application/json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'X-Request-Id: rid-7',
        'Connection: close',
      ]),
    );
    expect(JSON.parse(body)).toEqual({
      error: {
        message: expect.stringContaining('header section'),
        type: 'invalid_request_error',
        code: 'headers_too_large',
        param: null,
        request_id: 'rid-7',
      },
    });
  });
});
