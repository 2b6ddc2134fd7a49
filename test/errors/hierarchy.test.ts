import { describe, expect, it } from 'vitest';
import * as errors from '@spfn/core/errors';
import { httpStatusOf } from '@spfn/core/db';

const { DatabaseError, toDatabaseError } = errors;

/** SPEC §5: every class, its stable code, SQLSTATE, retryable flag and HTTP status (src/http/status.ts). */
const TABLE: [
  name: keyof typeof errors,
  code: string,
  sqlState: string | undefined,
  retryable: boolean,
  status: number,
][] = [
  ['ConfigError', 'CONFIG_ERROR', undefined, false, 500],
  ['ConnectionError', 'CONNECTION_ERROR', '08006', true, 503],
  ['DatabaseNotInitializedError', 'DATABASE_NOT_INITIALIZED', undefined, false, 503],
  ['PoolTimeoutError', 'POOL_TIMEOUT', undefined, true, 503],
  ['QueryError', 'QUERY_ERROR', 'XX000', false, 500],
  ['InvalidInputError', 'INVALID_INPUT', '22P02', false, 400],
  ['InvalidQueryError', 'INVALID_QUERY', undefined, false, 400],
  ['NotFoundError', 'NOT_FOUND', undefined, false, 404],
  ['UniqueViolationError', 'UNIQUE_VIOLATION', '23505', false, 409],
  ['ForeignKeyViolationError', 'FOREIGN_KEY_VIOLATION', '23503', false, 409],
  ['ForeignKeyViolationError', 'FOREIGN_KEY_VIOLATION', '23001', false, 409],
  ['NotNullViolationError', 'NOT_NULL_VIOLATION', '23502', false, 400],
  ['CheckViolationError', 'CHECK_VIOLATION', '23514', false, 400],
  ['SerializationError', 'SERIALIZATION_FAILURE', '40001', true, 503],
  ['DeadlockError', 'DEADLOCK', '40P01', true, 503],
  ['QueryTimeoutError', 'QUERY_TIMEOUT', '57014', false, 504],
  ['TransactionError', 'TRANSACTION_ERROR', undefined, false, 500],
  ['TransactionTimeoutError', 'TRANSACTION_TIMEOUT', undefined, false, 504],
  ['StaleVersionError', 'STALE_VERSION', undefined, false, 409],
];

type Ctor = new (...args: unknown[]) => errors.DatabaseError;

function make(name: string): errors.DatabaseError {
  const C = errors[name as keyof typeof errors] as unknown as Ctor;
  if (name === 'ConfigError') return new C('DB_POOL_MAX', 'expected an integer ≥ 1, got "abc"');
  if (name === 'PoolTimeoutError') return new C('primary', 100, { active: 2, idle: 0, waiting: 1, max: 2 });
  if (name === 'TransactionTimeoutError') return new C(100);
  return new C('test message');
}

describe('@spfn/core/errors exports the whole hierarchy of SPEC §5', () => {
  it.each(TABLE)('%s: code %s', (name, code, _sqlState, retryable, status) => {
    expect(typeof errors[name]).toBe('function');
    const err = make(name);
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe(name);
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(retryable);
    expect(httpStatusOf(err)).toBe(status);
    expect(toDatabaseError(err)).toBe(err);
    expect(err.toJSON()).toMatchObject({ name, code });
    expect(err.stack).toContain(name);
  });

  it.each(TABLE.filter((row) => row[2] !== undefined))(
    'a server error with SQLSTATE %s… maps to its class',
    (name, code, sqlState) => {
      const server = Object.assign(new Error('driver text with value secret-xyz'), {
        severity: 'ERROR',
        code: sqlState,
        table_name: 't',
        constraint_name: 'c',
        column_name: 'col',
      });
      const wrapped = new Error('Failed query: insert into t values ($1)\nparams: secret-xyz', { cause: server });
      const err = toDatabaseError(wrapped);
      expect(err.name).toBe(name);
      expect(err.code).toBe(code);
      expect(err.sqlState).toBe(sqlState);
      // The cause is a sanitized copy of the server error: code and object names, no detail or parameters.
      expect(err.cause).toMatchObject({ name: 'ServerError', code: sqlState, table: 't', constraint: 'c' });
      expect(`${err.message} ${JSON.stringify(err)}`).not.toContain('secret-xyz');
    },
  );

  it('subclasses: constraint violations, serialization, deadlock and timeout are QueryErrors', () => {
    for (const name of [
      'UniqueViolationError',
      'ForeignKeyViolationError',
      'NotNullViolationError',
      'CheckViolationError',
      'SerializationError',
      'DeadlockError',
      'QueryTimeoutError',
    ] as const) {
      expect(make(name)).toBeInstanceOf(errors.QueryError);
    }
    expect(make('TransactionTimeoutError')).toBeInstanceOf(errors.TransactionError);
  });

  it('ConfigError names the variable; PoolTimeoutError carries the counts', () => {
    const c = make('ConfigError') as errors.ConfigError;
    expect(c.variable).toBe('DB_POOL_MAX');
    expect(c.message).toBe('DB_POOL_MAX: expected an integer ≥ 1, got "abc"');
    const p = make('PoolTimeoutError') as errors.PoolTimeoutError;
    expect(p).toMatchObject({ pool: 'primary', timeoutMs: 100, active: 2, idle: 0, waiting: 1, max: 2 });
  });

  it('anything else becomes a QueryError that keeps the original as cause, and a cause cycle terminates', () => {
    const plain = new TypeError('boom');
    const err = toDatabaseError(plain);
    expect(err.constructor).toBe(errors.QueryError);
    expect(err.cause).toBe(plain);
    const a: { cause?: unknown } = {};
    const b = { cause: a };
    a.cause = b;
    expect(toDatabaseError(a)).toBeInstanceOf(errors.QueryError);
    expect(toDatabaseError('a string')).toBeInstanceOf(errors.QueryError);
    expect(toDatabaseError(undefined)).toBeInstanceOf(errors.QueryError);
  });

  it('network error codes anywhere in the chain become ConnectionError', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'ENOTFOUND',
      'CONNECT_TIMEOUT',
      'CONNECTION_CLOSED',
    ]) {
      const err = toDatabaseError(new Error('outer', { cause: Object.assign(new Error('inner'), { code }) }));
      expect(err).toBeInstanceOf(errors.ConnectionError);
      expect(err.message).toContain(code);
    }
  });
});
