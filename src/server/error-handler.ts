import type { ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { DatabaseError, findServerError, toDatabaseError } from '../errors/index.js';
import { errorBody, httpStatusOf } from '../http/index.js';
import { logger } from '../logger/index.js';

const log = logger.child('server');

function isDatabaseFailure(err: unknown): boolean {
  if (err instanceof DatabaseError || findServerError(err)) return true;
  // Drizzle wraps driver errors; the mapper walks the cause chain and knows the rest (connection failures…).
  return err instanceof Error && err.name === 'DrizzleQueryError';
}

/**
 * A Hono `onError` handler: HTTP errors of the handler (HTTPException) answer as they are; errors of the data
 * layer — typed ones, and raw driver or Drizzle errors, mapped with `toDatabaseError()` — answer with their status
 * (409 unique/foreign-key, 400 not-null/check/invalid query, 404, 503 unavailable, 504 timeout) and
 * `{ error: { code, message } }`; anything else is a 500 with a generic body. 5xx are logged.
 *
 * @example
 * ```ts
 * const app = new Hono();
 * app.onError(errorHandler());
 * ```
 */
export function errorHandler(): ErrorHandler {
  return function spfnErrorHandler(err, c) {
    if (err instanceof HTTPException) return err.getResponse();
    if (isDatabaseFailure(err)) {
      const mapped = toDatabaseError(err);
      const status = httpStatusOf(mapped);
      if (status >= 500) log.error({ err: mapped, route: `${c.req.method} ${c.req.path}` }, 'request failed');
      return c.json(errorBody(mapped), status as 500);
    }
    log.error({ err, route: `${c.req.method} ${c.req.path}` }, 'request failed');
    return c.json({ error: { code: 'INTERNAL_ERROR', message: 'Internal server error' } }, 500);
  };
}
