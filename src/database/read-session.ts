import { ambient } from '../context/index.js';
import { sessionFromToken, tokenOf } from '../connection/consistency.js';
import { getDatabaseManager } from './default.js';
import type { DatabaseManager } from './manager.js';

/** Options of {@link withReadSession}. */
export interface ReadSessionOptions {
  /**
   * A token from {@link getReadToken} that a previous request handed to the client (a response header or a
   * cookie). Reads in the session then never see data older than that request's writes. A missing or malformed
   * token starts a fresh session.
   */
  token?: string | null | undefined;
}

/**
 * Runs `fn` as one read-your-writes session (one HTTP request, one job): after a write in `fn`, reads in `fn`
 * never return older data from a replica. Outside any session the whole process is one session. Keeps the
 * ambient transaction, if any.
 *
 * @example
 * ```ts
 * app.use(async (c, next) => {
 *   await withReadSession(async () => {
 *     await next();
 *     const token = await getReadToken();
 *     if (token) c.header('x-read-token', token);
 *   }, { token: c.req.header('x-read-token') });
 * });
 * ```
 */
export function withReadSession<T>(fn: () => T, options: ReadSessionOptions = {}): T {
  const outer = ambient.getStore();
  return ambient.run({ tx: outer?.tx, session: sessionFromToken(options.token), route: outer?.route }, fn);
}

/**
 * A token carrying the current session's write position (DB_READ_CONSISTENCY `lsn`: the primary's WAL position
 * after its last write; `sticky`: the time of that write) to a later request, which passes it to
 * {@link withReadSession}. Undefined when the session has not written. Uses the default database unless
 * `manager` is given.
 *
 * @example
 * ```ts
 * await getDatabase().insert(posts).values(post);
 * res.setHeader('x-read-token', (await getReadToken()) ?? '');
 * ```
 */
export function getReadToken(manager: DatabaseManager = getDatabaseManager()): Promise<string | undefined> {
  const tracker = manager.readConsistency;
  const session = ambient.getStore()?.session ?? tracker?.processSession;
  return session ? tokenOf(session, tracker) : Promise.resolve(undefined);
}
