import type { ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { routePath } from 'hono/route';
import { DatabaseError, findServerError, toDatabaseError } from '../errors/index.js';
import { errorBody, httpStatusOf } from '../http/index.js';
import { logger } from '../logger/index.js';
import { asJsonError, errorJson } from './http-errors.js';

const log = logger.child('server');

function isDatabaseFailure(err: unknown): boolean {
  if (err instanceof DatabaseError || findServerError(err)) return true;
  // Drizzle wraps driver errors; the mapper walks the cause chain and knows the rest (connection failures…).
  return err instanceof Error && err.name === 'DrizzleQueryError';
}

/** `c.req.json()` on a body that is not JSON throws a bare SyntaxError, whose message quotes the body. */
function isMalformedJson(err: Error): boolean {
  return err instanceof SyntaxError && /JSON/i.test(err.message);
}

/**
 * A Hono `onError` handler that answers every error as JSON in one shape, `{ error: { code, message } }`:
 * - an HTTPException with its status and message (`NOT_FOUND`, `BAD_REQUEST`, `PAYLOAD_TOO_LARGE`…); one that
 *   carries its own JSON response keeps it;
 * - errors of the data layer — typed ones, and raw driver or Drizzle errors, mapped with `toDatabaseError()` —
 *   with their status (409 unique/foreign-key, 400 not-null/check/invalid query, 404, 503 unavailable, 504
 *   timeout) and code;
 * - a body that is not JSON (`await c.req.json()` threw) as 400 `MALFORMED_JSON`;
 * - anything else as 500 `INTERNAL_ERROR` with a generic message.
 *
 * 5xx are logged, without parameter values or value-quoting server messages (the logger drops them).
 *
 * @example
 * ```ts
 * const app = new Hono();
 * app.onError(errorHandler());
 * ```
 */
export function errorHandler(): ErrorHandler {
  return async function spfnErrorHandler(err, c) {
    if (err instanceof HTTPException) return asJsonError(err.getResponse());
    if (isDatabaseFailure(err)) {
      const mapped = toDatabaseError(err);
      const status = httpStatusOf(mapped);
      const route = `${c.req.method} ${routePath(c)}`;
      // A client that went away ended its own request (Transactional() rolled it back): nothing failed.
      if (status >= 500 && c.req.raw.signal.aborted) log.debug({ code: mapped.code, route }, 'client went away');
      else if (status >= 500) log.error({ err: mapped, route }, 'request failed');
      return c.json(errorBody(mapped), status as 500);
    }
    if (isMalformedJson(err)) return errorJson(400, 'The request body is not valid JSON', 'MALFORMED_JSON');
    log.error({ err, route: `${c.req.method} ${routePath(c)}` }, 'request failed');
    return errorJson(500, 'Internal server error', 'INTERNAL_ERROR');
  };
}
