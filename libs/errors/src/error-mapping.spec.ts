import { NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { ERROR_CODES, type ErrorCode } from './error-code';
import { mapError } from './error-mapping';
import { GatewayError } from './gateway.error';

describe('mapError (docs/api.md §4, §9)', () => {
  it.each(Object.keys(ERROR_CODES) as ErrorCode[])(
    'maps %s to its status, type and code',
    (code) => {
      const mapped = mapError(new GatewayError(code, 'm', { param: 'x' }), 'rid-1');
      expect(mapped.status).toBe(ERROR_CODES[code].status);
      expect(mapped.body.error).toMatchObject({
        message: 'm',
        type: ERROR_CODES[code].type,
        code,
        param: 'x',
        request_id: 'rid-1',
      });
    },
  );

  it('pins the contract pairs', () => {
    const pairs: Array<[ErrorCode, number, string]> = [
      ['invalid_api_key', 401, 'authentication_error'],
      ['wrong_key_scope', 403, 'permission_error'],
      ['model_not_found', 404, 'not_found_error'],
      ['budget_exceeded', 402, 'budget_exceeded'],
      ['request_too_large', 413, 'invalid_request_error'],
      ['tokens_rate_limit_exceeded', 429, 'rate_limit_error'],
      ['too_many_auth_failures', 429, 'rate_limit_error'],
      ['all_providers_failed', 502, 'upstream_error'],
      ['no_provider_available', 503, 'service_unavailable'],
      ['upstream_timeout', 504, 'upstream_timeout'],
    ];
    for (const [code, status, type] of pairs) {
      const m = mapError(new GatewayError(code, 'x'), 'r');
      expect([m.status, m.body.error.type]).toEqual([status, type]);
    }
  });

  it('maps body-parser failures', () => {
    expect(
      mapError(Object.assign(new Error('x'), { type: 'entity.too.large', status: 413 }), 'r')
        .status,
    ).toBe(413);
    const bad = mapError(
      Object.assign(new SyntaxError('x'), { type: 'entity.parse.failed', status: 400 }),
      'r',
    );
    expect([bad.status, bad.code]).toEqual([400, 'invalid_request']);
    expect(
      mapError(Object.assign(new Error('x'), { type: 'encoding.unsupported', status: 400 }), 'r')
        .status,
    ).toBe(400);
  });

  it('maps Content-Encoding failures: unsupported → 415, corrupt → 400', () => {
    const unsupported = mapError(
      Object.assign(new Error('x'), { type: 'encoding.unsupported', status: 415 }),
      'r',
    );
    expect([unsupported.status, unsupported.code, unsupported.body.error.type]).toEqual([
      415,
      'unsupported_media_type',
      'invalid_request_error',
    ]);
    const corrupt = mapError(
      Object.assign(new Error('x'), { type: 'encoding.corrupt', status: 400 }),
      'r',
    );
    expect([corrupt.status, corrupt.code]).toEqual([400, 'invalid_request']);
    expect(
      mapError(Object.assign(new Error('x'), { type: 'charset.unsupported', status: 415 }), 'r')
        .status,
    ).toBe(415);
  });

  it('maps Nest HTTP exceptions (unknown routes)', () => {
    expect(mapError(new NotFoundException(), 'r').body.error.code).toBe('not_found');
    expect(mapError(new PayloadTooLargeException(), 'r').status).toBe(413);
  });

  it('turns anything else into a bland 500 that hides the cause', () => {
    const m = mapError(new Error('password=hunter2 at db'), 'r');
    expect(m.status).toBe(500);
    expect(m.unexpected).toBe(true);
    expect(JSON.stringify(m.body)).not.toContain('hunter2');
  });

  it('carries headers such as Retry-After', () => {
    const m = mapError(
      new GatewayError('rate_limit_exceeded', 'slow down', { headers: { 'Retry-After': '3' } }),
      'r',
    );
    expect(m.headers).toEqual({ 'Retry-After': '3' });
  });
});
