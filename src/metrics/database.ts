import { Gauge, type Metric, type Registry } from 'prom-client';
import {
  CounterFamily,
  HistogramFamily,
  ownedMetrics,
  reRegister,
  type CounterSeries,
  type HistogramSeries,
} from './families.js';

/** Pool role as the metrics label it. */
export type MetricsRole = 'primary' | 'replica' | 'embedded';

/** Why a read meant for a replica ran on the primary. */
export type ReplicaFallback = 'replicas_down' | 'behind' | 'replica_error';

/** Live counters of one pool, read at scrape time. @internal */
export interface PoolStats {
  name: string;
  active: number;
  idle: number;
  waiting: number;
  max: number;
  healthy: boolean;
}

/** Something that owns pools (a database manager): asked for their counters at each scrape. @internal */
export interface PoolStatsSource {
  poolStats(): readonly PoolStats[];
}

type TxOutcome = 'commit' | 'rollback' | 'timeout';
type TimeoutKind = 'pool_acquire' | 'transaction' | 'query';
const FALLBACKS: readonly ReplicaFallback[] = ['replicas_down', 'behind', 'replica_error'];

interface RoleSeries {
  ok: CounterSeries;
  error: CounterSeries;
  duration: HistogramSeries;
}

/**
 * The database metrics of one prom-client registry. Every series is pre-bound, so recording a statement is two
 * additions and a bucket search. Shared by every database manager that reports to the same registry; pool gauges
 * are read from the attached managers when the registry is scraped (several managers with the same pool names
 * add up).
 * @internal
 */
export class DatabaseMetrics {
  readonly registry: Registry;
  /** Series of the roles seen so far: a database without replicas exports no replica series. */
  readonly #roles: Partial<Record<MetricsRole, RoleSeries>> = {};
  readonly #roleSeries: (role: MetricsRole) => RoleSeries;
  readonly #errors: CounterFamily<'role' | 'code'>;
  readonly #transactions: Record<TxOutcome, { count: CounterSeries; duration: HistogramSeries }>;
  readonly #retries: CounterSeries;
  readonly #timeouts: Record<TimeoutKind, CounterSeries>;
  readonly #fallbacks: Record<ReplicaFallback, CounterSeries>;
  readonly #waits: HistogramFamily<'pool'>;
  readonly #destroyed: CounterFamily<'pool' | 'confirmed'>;
  readonly #sources = new Set<PoolStatsSource>();
  #metrics: ReadonlyMap<string, Metric> = new Map();

  constructor(registry: Registry) {
    this.registry = registry;
    const queries = new CounterFamily(
      {
        name: 'spfn_db_queries_total',
        help: 'Statements run, by pool role and outcome',
        labelNames: ['role', 'outcome'],
      },
      registry,
    );
    const queryDuration = new HistogramFamily(
      { name: 'spfn_db_query_duration_seconds', help: 'Statement duration, by pool role', labelNames: ['role'] },
      registry,
    );
    this.#errors = new CounterFamily(
      {
        name: 'spfn_db_query_errors_total',
        help: 'Failed statements, by pool role and error code (UNIQUE_VIOLATION, QUERY_TIMEOUT, CONNECTION_ERROR, …)',
        labelNames: ['role', 'code'],
      },
      registry,
    );
    const roleSeries = (role: MetricsRole): RoleSeries => ({
      ok: queries.series({ role, outcome: 'ok' }),
      error: queries.series({ role, outcome: 'error' }),
      duration: queryDuration.series({ role }),
    });
    this.#roleSeries = roleSeries;

    const transactions = new CounterFamily(
      {
        name: 'spfn_db_transactions_total',
        help: 'Transactions ended, by outcome (commit, rollback, timeout); savepoints not counted',
        labelNames: ['outcome'],
      },
      registry,
    );
    const transactionDuration = new HistogramFamily(
      {
        name: 'spfn_db_transaction_duration_seconds',
        help: 'Transaction duration from BEGIN to COMMIT or ROLLBACK, by outcome',
        labelNames: ['outcome'],
      },
      registry,
    );
    const tx = (outcome: TxOutcome) => ({
      count: transactions.series({ outcome }),
      duration: transactionDuration.series({ outcome }),
    });
    this.#transactions = { commit: tx('commit'), rollback: tx('rollback'), timeout: tx('timeout') };
    this.#retries = new CounterFamily(
      {
        name: 'spfn_db_transaction_retries_total',
        help: 'Transactions re-run after a serialization failure (40001) or a deadlock (40P01)',
        labelNames: [],
      },
      registry,
    ).series({});

    const timeouts = new CounterFamily(
      {
        name: 'spfn_db_timeouts_total',
        help: 'Timeouts: pool_acquire (no connection in time), transaction (deadline passed), query (statement_timeout)',
        labelNames: ['kind'],
      },
      registry,
    );
    this.#timeouts = {
      pool_acquire: timeouts.series({ kind: 'pool_acquire' }),
      transaction: timeouts.series({ kind: 'transaction' }),
      query: timeouts.series({ kind: 'query' }),
    };
    const fallbacks = new CounterFamily(
      {
        name: 'spfn_db_replica_fallbacks_total',
        help:
          'Reads meant for a replica that ran on the primary: replicas_down (none healthy), behind (no replica had ' +
          "replayed the session's last write), replica_error (the replica failed the read)",
        labelNames: ['reason'],
      },
      registry,
    );
    this.#fallbacks = Object.fromEntries(FALLBACKS.map((reason) => [reason, fallbacks.series({ reason })])) as Record<
      ReplicaFallback,
      CounterSeries
    >;
    this.#waits = new HistogramFamily(
      {
        name: 'spfn_db_pool_wait_seconds',
        help: 'Time callers queued for a connection because every connection was taken, per pool',
        labelNames: ['pool'],
      },
      registry,
    );
    this.#destroyed = new CounterFamily(
      {
        name: 'spfn_db_connections_destroyed_total',
        help:
          'Connections ended in doubt (failed BEGIN/ROLLBACK, no answer to COMMIT) without another statement on ' +
          'them, per pool; confirmed="false" when the session had not closed within the bound',
        labelNames: ['pool', 'confirmed'],
      },
      registry,
    );
    this.#poolGauges(registry);
    this.#metrics = ownedMetrics(registry, 'spfn_db_');
  }

  #poolGauges(registry: Registry): void {
    const sources = this.#sources;
    const gauge = (name: string, help: string, read: (p: PoolStats) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['pool'],
        registers: [registry],
        collect() {
          this.reset();
          for (const source of sources) {
            for (const pool of source.poolStats()) this.inc({ pool: pool.name }, read(pool));
          }
        },
      });
    };
    gauge('spfn_db_pool_active_connections', 'Connections held by a caller, per pool', (p) => p.active);
    gauge('spfn_db_pool_idle_connections', 'Connections open and free, per pool', (p) => p.idle);
    gauge('spfn_db_pool_waiting_requests', 'Callers queued for a connection, per pool', (p) => p.waiting);
    gauge('spfn_db_pool_max_connections', 'Pool size limit, per pool', (p) => p.max);
    gauge('spfn_db_pool_healthy', '1 when the last health check of the pool passed', (p) => (p.healthy ? 1 : 0));
  }

  /**
   * Puts the metrics back into the registry if someone cleared it (`register.clear()` between tests): they keep
   * their values, and the next scrape shows them again.
   */
  ensureRegistered(): void {
    reRegister(this.registry, this.#metrics);
  }

  /** Reports the pools of `source` at each scrape until the returned function is called. */
  attach(source: PoolStatsSource): () => void {
    this.#sources.add(source);
    return () => this.#sources.delete(source);
  }

  /**
   * One statement; `errorCode` is the mapped error's code when it failed. A QUERY_TIMEOUT counts as a query
   * timeout unless `ownTimeout` is false (the statement was cancelled by its transaction's deadline).
   */
  query(role: MetricsRole, seconds: number, errorCode?: string, ownTimeout = true): void {
    const series = (this.#roles[role] ??= this.#roleSeries(role));
    series.duration.observe(seconds);
    if (errorCode === undefined) {
      series.ok.value++;
      return;
    }
    series.error.value++;
    this.#errors.series({ role, code: errorCode }).value++;
    if (errorCode === 'QUERY_TIMEOUT' && ownTimeout) this.#timeouts.query.value++;
  }

  /** One finished outermost transaction (not savepoints). */
  transaction(outcome: 'commit' | 'rollback', seconds: number, timedOut: boolean): void {
    const series = this.#transactions[timedOut ? 'timeout' : outcome];
    series.count.value++;
    series.duration.observe(seconds);
    if (timedOut) this.#timeouts.transaction.value++;
  }

  /** One re-run of a transaction callback. */
  transactionRetry(): void {
    this.#retries.value++;
  }

  /** One pool acquire that timed out. */
  poolTimeout(): void {
    this.#timeouts.pool_acquire.value++;
  }

  /** A caller that waited `seconds` for a connection of `pool`, then got one. */
  poolWait(pool: string, seconds: number): void {
    this.#waits.series({ pool }).observe(seconds);
  }

  /** A connection in doubt that was ended; `confirmed` when its session was seen to close. */
  connectionDestroyed(pool: string, confirmed: boolean): void {
    this.#destroyed.series({ pool, confirmed: String(confirmed) }).value++;
  }

  /** A read meant for a replica that ran on the primary. */
  replicaFallback(reason: ReplicaFallback): void {
    this.#fallbacks[reason].value++;
  }
}
