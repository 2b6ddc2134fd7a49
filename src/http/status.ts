import { DatabaseError } from '../errors/index.js';

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  UNIQUE_VIOLATION: 409,
  FOREIGN_KEY_VIOLATION: 409,
  STALE_VERSION: 409,
  NOT_NULL_VIOLATION: 400,
  CHECK_VIOLATION: 400,
  INVALID_QUERY: 400,
  NOT_FOUND: 404,
  POOL_TIMEOUT: 503,
  CONNECTION_ERROR: 503,
  DATABASE_NOT_INITIALIZED: 503,
  SERIALIZATION_FAILURE: 503,
  DEADLOCK: 503,
  TRANSACTION_TIMEOUT: 504,
  QUERY_TIMEOUT: 504,
};

/**
 * The HTTP status for an error of the data layer: 409 for unique/foreign-key conflicts and stale versions, 400
 * for not-null/check violations and invalid queries, 404 for not found, 503 when the database is unavailable or
 * busy, 504 for timeouts, 500 otherwise.
 */
export function httpStatusOf(err: unknown): number {
  if (err instanceof DatabaseError) return STATUS_BY_CODE[err.code] ?? 500;
  return 500;
}

/** The JSON body the Hono integration answers with for a data-layer error: code and a client-safe message. */
export function errorBody(err: DatabaseError): { error: { code: string; message: string } } {
  const status = httpStatusOf(err);
  return { error: { code: err.code, message: status === 500 ? 'Internal database error' : err.message } };
}

/**
 * Lets Hono's default error handler answer a data-layer error with its status: adds a hidden `getResponse()`
 * (what Hono looks for on HTTPException) to the typed error, which stays the same object and class.
 * @internal
 */
export function withHttpResponse<E extends DatabaseError>(err: E): E {
  if (!Object.prototype.hasOwnProperty.call(err, 'getResponse')) {
    Object.defineProperty(err, 'getResponse', {
      enumerable: false,
      value: () => Response.json(errorBody(err), { status: httpStatusOf(err) }),
    });
  }
  return err;
}
