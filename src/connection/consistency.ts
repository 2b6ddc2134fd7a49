import type { ReadConsistency } from '../config/index.js';
import { ambient, type ReadSession } from '../context/index.js';
import type { Pool } from './pool.js';
import type { ReadRouter } from './router.js';

/** A replica's replay position read less than this long ago is trusted without asking again. */
const REPLAY_CACHE_MS = 10;

/** Statements that cannot change data (reads, transaction control, session settings). */
const READ_ONLY =
  /^\s*(?:select|values|show|explain|table|fetch|begin|start|commit|end|rollback|savepoint|release|set|reset|discard|deallocate)\b/i;

/** True when a statement may write (anything but a plain read). @internal */
export function mayWrite(text: string): boolean {
  return !READ_ONLY.test(text);
}

/** Parses a PostgreSQL LSN (`16/B374D848`) into a number that orders like the LSN. @internal */
export function parseLsn(lsn: string): bigint | undefined {
  const match = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(lsn);
  if (!match) return undefined;
  return (BigInt(`0x${match[1]!}`) << 32n) + BigInt(`0x${match[2]!}`);
}

/**
 * performance.now() at which the fetch that gave a session's `lsn` started: writes stamped before it are covered.
 * Kept beside the session object so sessions made from tokens can be marked covered too.
 */
const coveredAt = new WeakMap<ReadSession, number>();

const TOKEN = /^1\.([0-9A-F]{1,8}\/[0-9A-F]{1,8}|-)\.(\d{1,15})$/i;

/**
 * A read session restored from a token made by {@link tokenOf}; a malformed token gives a fresh session (a
 * token comes from a client, and reading from the primary is always safe). @internal
 */
export function sessionFromToken(token: string | null | undefined): ReadSession {
  const session: ReadSession = { lsn: undefined, lastWriteAt: 0 };
  const match = token ? TOKEN.exec(token.trim()) : null;
  if (!match) return session;
  const wroteAt = Math.min(Number(match[2]), Date.now());
  session.lastWriteAt = Math.max(Number.MIN_VALUE, performance.now() - (Date.now() - wroteAt));
  if (match[1] !== '-') {
    session.lsn = match[1]!.toUpperCase();
    coveredAt.set(session, session.lastWriteAt + 1);
  }
  return session;
}

/**
 * The token of a session: `1.<lsn>.<epoch ms of the last write>`, or undefined when it never wrote. In lsn mode
 * the write position is fetched first if needed. @internal
 */
export async function tokenOf(
  session: ReadSession,
  tracker: ReadConsistencyTracker | undefined,
): Promise<string | undefined> {
  if (session.lastWriteAt === 0 && session.lsn === undefined) return undefined;
  if (tracker?.mode === 'lsn') await tracker.writePosition(session);
  const wroteAt = Math.round(Date.now() - (performance.now() - session.lastWriteAt));
  return `1.${session.lsn ?? '-'}.${wroteAt}`;
}

interface ReplayPosition {
  lsn: bigint;
  at: number;
  pending: Promise<bigint | undefined> | undefined;
}

/**
 * Read-your-writes: remembers when (sticky) or where in the WAL (lsn) the current session last wrote, and sends
 * a read to a replica only when that replica cannot be older than the write.
 *
 * The write position is fetched lazily: a write only stamps the session; the first read after it asks the
 * primary for `pg_current_wal_lsn()`, one request shared by every read waiting at that moment. Writes without a
 * following replica read cost nothing.
 * @internal
 */
export class ReadConsistencyTracker {
  readonly mode: ReadConsistency;
  readonly stickyWindow: number;
  /** The session outside any request or transaction: the process itself. */
  readonly processSession: ReadSession = { lsn: undefined, lastWriteAt: 0 };
  readonly #primary: Pool;
  readonly #replay = new Map<Pool, ReplayPosition>();
  #currentLsn: { startedAt: number; promise: Promise<string | undefined> } | undefined;

  constructor(mode: ReadConsistency, stickyWindow: number, primary: Pool) {
    this.mode = mode;
    this.stickyWindow = stickyWindow;
    this.#primary = primary;
  }

  /** The read session of the current async context, else the process session. */
  session(): ReadSession {
    return ambient.getStore()?.session ?? this.processSession;
  }

  /** Stamps a completed write on `session`. */
  noteWrite(session: ReadSession = this.session()): void {
    session.lastWriteAt = performance.now();
  }

  /**
   * The pool for a read under the configured consistency: `candidate` (a replica chosen by the router) when it
   * is safe, else the primary. Never rejects: when the primary's write position cannot be fetched, the read goes to
   * the primary, which has every write (and which answers a failure there with its typed error, through the
   * statement's monitor).
   */
  async choose(router: ReadRouter, candidate: Pool): Promise<Pool> {
    if (candidate === router.primary || this.mode === 'none') return candidate;
    const session = this.session();
    if (session.lastWriteAt === 0 && session.lsn === undefined) return candidate;
    if (this.mode === 'sticky') {
      return performance.now() - session.lastWriteAt < this.stickyWindow ? router.primary : candidate;
    }
    let required: bigint | undefined;
    try {
      required = await this.writePosition(session);
    } catch {
      return router.primary;
    }
    if (required === undefined) return candidate;
    if (await this.#reached(candidate, required)) return candidate;
    for (const replica of router.healthyReplicas()) {
      if (replica !== candidate && (this.#replay.get(replica)?.lsn ?? -1n) >= required) return replica;
    }
    return router.primary;
  }

  /** The session's write position, fetching the primary's WAL position if a write is not covered yet. */
  async writePosition(session: ReadSession): Promise<bigint | undefined> {
    const covered = coveredAt.get(session) ?? -Infinity;
    if (session.lastWriteAt > 0 && session.lastWriteAt >= covered) {
      const fetch = this.#fetchCurrentLsn(session.lastWriteAt);
      const lsn = await fetch.promise;
      if (lsn !== undefined && greater(lsn, session.lsn)) session.lsn = lsn;
      if (fetch.startedAt > (coveredAt.get(session) ?? -Infinity)) coveredAt.set(session, fetch.startedAt);
    }
    return session.lsn === undefined ? undefined : parseLsn(session.lsn);
  }

  #fetchCurrentLsn(after: number): { startedAt: number; promise: Promise<string | undefined> } {
    const running = this.#currentLsn;
    if (running && running.startedAt > after) return running;
    const startedAt = performance.now();
    const fetch = {
      startedAt,
      promise: this.#primary
        .query('select pg_current_wal_lsn()::text', [], 'array', false)
        .then((rows) => (rows[0] as [string | null] | undefined)?.[0] ?? undefined)
        .finally(() => {
          if (this.#currentLsn === fetch) this.#currentLsn = undefined;
        }),
    };
    this.#currentLsn = fetch;
    return fetch;
  }

  async #reached(replica: Pool, required: bigint): Promise<boolean> {
    let known = this.#replay.get(replica);
    if (!known) {
      known = { lsn: -1n, at: -Infinity, pending: undefined };
      this.#replay.set(replica, known);
    }
    if (known.lsn >= required) return true;
    if (performance.now() - known.at < REPLAY_CACHE_MS) return false;
    known.pending ??= this.#fetchReplay(replica, known);
    const lsn = await known.pending.catch(() => undefined);
    return lsn !== undefined && lsn >= required;
  }

  async #fetchReplay(replica: Pool, known: ReplayPosition): Promise<bigint | undefined> {
    const started = performance.now();
    try {
      // A server that is not in recovery (a promoted replica, a pooler in front of the primary) is current.
      const rows = await replica.query(
        'select coalesce(pg_last_wal_replay_lsn(), pg_current_wal_lsn())::text',
        [],
        'array',
        false,
      );
      const text = (rows[0] as [string | null] | undefined)?.[0];
      const lsn = text ? parseLsn(text) : undefined;
      if (lsn !== undefined && lsn > known.lsn) known.lsn = lsn;
      known.at = started;
      return lsn;
    } finally {
      known.pending = undefined;
    }
  }
}

function greater(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  return (parseLsn(a) ?? 0n) > (parseLsn(b) ?? 0n);
}
