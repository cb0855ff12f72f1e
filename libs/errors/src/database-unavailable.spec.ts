import { isDatabaseUnavailable } from './database-unavailable';
import { mapError } from './error-mapping';

function pgError(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { code });
}

/** What TypeORM throws for a failed statement: the driver's error inside. */
function queryFailed(driverError: Error): Error {
  return Object.assign(new Error(driverError.message), { name: 'QueryFailedError', driverError });
}

describe('isDatabaseUnavailable', () => {
  it.each([
    ['pg query deadline', new Error('Query read timeout')],
    ['pool checkout deadline', new Error('timeout exceeded when trying to connect')],
    ['lost connection', new Error('Connection terminated unexpectedly')],
    ['refused', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    [
      'statement_timeout',
      queryFailed(pgError('57014', 'canceling statement due to statement timeout')),
    ],
    ['idle in transaction', queryFailed(pgError('25P03'))],
    ['admin shutdown', pgError('57P01')],
    ['connection exception', pgError('08006')],
    ['too many connections', pgError('53300')],
  ])('%s → unavailable', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ['unique violation', queryFailed(pgError('23505'))],
    ['syntax error', queryFailed(pgError('42601'))],
    ['invalid text (NUL)', queryFailed(pgError('22021'))],
    ['a bug', new TypeError('x is undefined')],
    ['not an error', 'boom'],
  ])('%s → not unavailable', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it('maps to 503 dependency_unavailable with Retry-After, hiding the driver message', () => {
    const m = mapError(new Error('Query read timeout'), 'req-1');
    expect(m.status).toBe(503);
    expect(m.code).toBe('dependency_unavailable');
    expect(m.headers['Retry-After']).toBe('2');
    expect(JSON.stringify(m.body)).not.toContain('Query read timeout');
    expect(mapError(queryFailed(pgError('23505')), 'req-2').status).toBe(500);
  });
});
