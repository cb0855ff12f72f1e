import { DatabaseError } from 'pg';
import { type DataSource, QueryFailedError } from 'typeorm';
import { PostgresRecordSink, storable, storableJson } from './postgres-record.sink';

function dbError(code: string): DatabaseError {
  const err = new DatabaseError('server said no', 0, 'error');
  err.code = code;
  return err;
}

function socketError(code: string): Error {
  return Object.assign(new Error(`write ${code}`), { code, syscall: 'write' });
}

describe('PostgresRecordSink.isTransient', () => {
  const sink = new PostgresRecordSink({} as DataSource);

  it.each([
    ['unique violation (the row is the problem)', false, dbError('23505')],
    ['invalid text representation', false, dbError('22P02')],
    ['connection failure', true, dbError('08006')],
    ['admin shutdown', true, dbError('57P01')],
    ['too many connections', true, dbError('53300')],
    ['serialization failure', true, dbError('40001')],
    ['a SQLSTATE wrapped by TypeORM', false, new QueryFailedError('INSERT', [], dbError('23505'))],
    // Socket errors whose code has the shape of a SQLSTATE: the server never answered.
    ['EPIPE', true, socketError('EPIPE')],
    ['EBADF', true, socketError('EBADF')],
    ['ECONNREFUSED', true, socketError('ECONNREFUSED')],
    ['pool closed', true, new Error('Cannot use a pool after calling end on the pool')],
  ])('%s → transient %s', (_name, transient, err) => {
    expect(sink.isTransient(err)).toBe(transient);
  });
});

describe('strings Postgres cannot store', () => {
  it('escapes NUL in text as the six characters \\u0000 and leaves other strings untouched', () => {
    expect(storable('x\u0000y\u0000')).toBe('x\\u0000y\\u0000');
    const plain = 'gpt-4o-mini ünïcødé \u0001';
    expect(storable(plain)).toBe(plain);
  });

  it('escapes NUL in jsonb values and keys, so jsonb does not refuse the \\u0000 escape', () => {
    const attempts = [{ provider: 'a\u0000b', outcome: 'error', latency_ms: 3, ['k\u0000']: 'v' }];
    const json = storableJson(attempts);
    expect(JSON.parse(json)).toEqual([
      { provider: 'a\\u0000b', outcome: 'error', latency_ms: 3, 'k\\u0000': 'v' },
    ]);
    expect(storableJson([{ provider: 'openai' }])).toBe('[{"provider":"openai"}]');
  });
});
