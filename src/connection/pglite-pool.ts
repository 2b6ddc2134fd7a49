import { mkdirSync, rmSync } from 'node:fs';
import { PGlite, type QueryOptions } from '@electric-sql/pglite';
import type { QueryResult, ResultMode } from '../context/index.js';
import { ConnectionError, type PoolCounts, type PoolTimeoutError } from '../errors/index.js';
import { Gate, type Lane, type Withdrawal } from './gate.js';
import { isNewDataDir, PgliteTemplate } from './pglite-template.js';
import { failStatement, type Pool, type PooledConnection, type SharedStatement } from './pool.js';
import { withTimeout } from './timeout.js';

const TEXT = (value: string): string => value;
/**
 * Parsers that make PGlite return what postgres.js returns, so code behaves the same on both: int8 and numeric as
 * strings, and the date/time types Drizzle parses itself as strings.
 */
const PARSERS: NonNullable<QueryOptions['parsers']> = Object.fromEntries(
  [20, 1700, 1184, 1082, 1083, 1114, 1182, 1185, 1115, 1231, 1186, 1187].map((oid) => [oid, TEXT]),
);
/**
 * PGlite's own start parameters plus a smaller buffer cache: its default of 128 MB grows the WebAssembly memory
 * (which never shrinks) as pages are touched; 16 MB keeps a development database's RSS ≈ 160 MB lower after a
 * CRUD run, and pages it misses come from the file system cache. See docs/adr/1101-pglite-template.md.
 */
const START_OPTIONS = { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'] };
const ARRAY_OPTIONS: QueryOptions = { rowMode: 'array', parsers: PARSERS };
const OBJECT_OPTIONS: QueryOptions = { rowMode: 'object', parsers: PARSERS };

/** @internal */
export interface PglitePoolOptions {
  dataDir: string;
  acquireTimeout: number;
  onPoolTimeout: (err: PoolTimeoutError) => void;
  /** Told how long a caller queued for the connection, each time one had to. */
  onPoolWait?: (pool: string, waitedMs: number) => void;
}

/**
 * The embedded database (PGlite, PostgreSQL compiled to WebAssembly, in this process). It has one session, so a
 * transaction holds it exclusively and other statements wait for it, at most the acquire timeout.
 * @internal
 */
export class PglitePool implements Pool {
  readonly name = 'embedded';
  readonly role = 'embedded' as const;
  readonly displayUrl: string;
  readonly #db: PGlite;
  readonly #gate: Gate;
  #closing: Promise<void> | undefined;

  private constructor(db: PGlite, dataDir: string, gate: Gate) {
    this.#db = db;
    this.#gate = gate;
    this.displayUrl = dataDir === 'memory://' ? 'pglite://memory' : `pglite://${dataDir}`;
  }

  /** Opens (or creates) the embedded database in `dataDir`, or in memory for `memory://`. */
  static async open(options: PglitePoolOptions): Promise<PglitePool> {
    const fresh = isNewDataDir(options.dataDir);
    if (!options.dataDir.startsWith('memory://')) mkdirSync(options.dataDir, { recursive: true });
    let db: PGlite;
    try {
      db = fresh ? await createFromTemplate(options.dataDir) : await PGlite.create(options.dataDir, START_OPTIONS);
    } catch (err) {
      throw new ConnectionError(`Could not open the embedded database in ${options.dataDir}`, { cause: err });
    }
    return new PglitePool(
      db,
      options.dataDir,
      new Gate('embedded', 1, options.acquireTimeout, options.onPoolTimeout, options.onPoolWait),
    );
  }

  counts(): PoolCounts {
    return this.#gate.counts();
  }

  query(
    text: string,
    params: readonly unknown[],
    mode: ResultMode,
    _prepare?: boolean,
    watch?: SharedStatement,
  ): Promise<QueryResult> {
    const lane = this.#gate.tryShared();
    if (lane !== undefined) return this.#run(lane, text, params, mode, watch);
    return this.#gate.acquireShared().then(
      (waited) => this.#run(waited, text, params, mode, watch),
      (err: unknown) => failStatement(watch, err),
    );
  }

  async #run(
    lane: Lane,
    text: string,
    params: readonly unknown[],
    mode: ResultMode,
    watch: SharedStatement | undefined,
  ): Promise<QueryResult> {
    let rows: QueryResult;
    try {
      rows = await runOn(this.#db, text, params, mode);
    } catch (err) {
      this.#gate.releaseShared(lane);
      failStatement(watch, err);
    }
    this.#gate.releaseShared(lane);
    return watch?.answered === undefined ? rows : watch.answered(rows);
  }

  async reserve(withdrawal?: Withdrawal): Promise<PooledConnection> {
    const lane = await this.#gate.acquireExclusive(withdrawal);
    return new PgliteSession(this.#db, this.#gate, lane);
  }

  async ping(timeoutMs: number): Promise<void> {
    await withTimeout(
      this.query('select 1', [], 'array'),
      timeoutMs,
      () => new ConnectionError(`No answer from the embedded database within ${timeoutMs} ms`),
    );
  }

  close(_timeoutMs: number): Promise<void> {
    this.#closing ??= (async () => {
      this.#gate.close(new ConnectionError('The embedded database is closed'));
      if (!this.#db.closed) await this.#db.close();
    })();
    return this.#closing;
  }
}

/** A new database: a copy of the cached template when there is one, else initdb (then cached for next time). */
async function createFromTemplate(dataDir: string): Promise<PGlite> {
  const template = new PgliteTemplate();
  const tarball = template.load();
  if (tarball !== undefined) {
    try {
      return await PGlite.create(dataDir, { ...START_OPTIONS, loadDataDir: tarball });
    } catch {
      // A tarball this PGlite cannot start from: forget it, and empty the (new) directory it was unpacked into.
      template.discard();
      if (!dataDir.startsWith('memory://')) {
        rmSync(dataDir, { recursive: true, force: true });
        mkdirSync(dataDir, { recursive: true });
      }
    }
  }
  const db = await PGlite.create(dataDir, START_OPTIONS);
  await template.save(db);
  return db;
}

async function runOn(db: PGlite, text: string, params: readonly unknown[], mode: ResultMode): Promise<QueryResult> {
  const result = await db.query(text, params as unknown[], mode === 'array' ? ARRAY_OPTIONS : OBJECT_OPTIONS);
  const rows = result.rows as QueryResult;
  rows.count = result.affectedRows ?? rows.length;
  const command = (result as { command?: string }).command;
  if (command !== undefined) rows.command = command;
  return rows;
}

/** The embedded database held by one transaction. */
class PgliteSession implements PooledConnection {
  readonly #db: PGlite;
  readonly #gate: Gate;
  readonly #lane: Lane;
  #released = false;

  constructor(db: PGlite, gate: Gate, lane: Lane) {
    this.#db = db;
    this.#gate = gate;
    this.#lane = lane;
  }

  query(text: string, params: readonly unknown[], mode: ResultMode): Promise<QueryResult> {
    return runOn(this.#db, text, params, mode);
  }

  async script(text: string): Promise<void> {
    await this.#db.exec(text);
  }

  /** PGlite runs statements on this thread: there is nothing to cancel from outside one. */
  cancel(): Promise<void> {
    return Promise.resolve();
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#gate.releaseExclusive(this.#lane);
  }

  async destroy(): Promise<void> {
    await runOn(this.#db, 'rollback', [], 'array').catch(() => undefined);
    this.release();
  }
}
