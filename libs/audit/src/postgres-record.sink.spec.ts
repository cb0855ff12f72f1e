import { DatabaseError } from 'pg';
import { type DataSource, QueryFailedError } from 'typeorm';
import { PostgresRecordSink } from './postgres-record.sink';

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
