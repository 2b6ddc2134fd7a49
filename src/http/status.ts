import { DatabaseError } from '../errors/index.js';

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  UNIQUE_VIOLATION: 409,
  FOREIGN_KEY_VIOLATION: 409,
  STALE_VERSION: 409,
  NOT_NULL_VIOLATION: 400,
  CHECK_VIOLATION: 400,
  INVALID_QUERY: 400,
  INVALID_INPUT: 400,
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
 * for not-null/check violations, invalid input values and invalid queries, 404 for not found, 503 when the database is unavailable or
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

let installed = false;

/**
 * Lets Hono's default error handler answer every data-layer error with its status and a client-safe JSON body:
 * gives DatabaseError a hidden `getResponse()`, which is what Hono looks for on HTTPException. The errors stay the
 * same classes; an application's own `onError` still sees them and can answer differently. Called by the Hono
 * integration (`Transactional()`, the server); the data layer itself knows nothing of HTTP.
 * @internal
 */
export function installHttpResponses(): void {
  if (installed) return;
  installed = true;
  Object.defineProperty(DatabaseError.prototype, 'getResponse', {
    enumerable: false,
    configurable: true,
    value: function getResponse(this: DatabaseError): Response {
      return Response.json(errorBody(this), { status: httpStatusOf(this) });
    },
  });
}
