import { toDatabaseError } from '../errors/index.js';
import { MetricsRegistry } from './registry.js';

/**
 * The package's registry: the database metrics below, the server's HTTP and pool metrics, and any metric an
 * application adds. `/metrics` renders it.
 *
 * @example
 * ```ts
 * import { metrics } from '@spfn/core/server';
 * const sent = metrics.counter('app_emails_sent_total', 'E-mails sent');
 * sent.inc();
 * ```
 */
export const metrics = new MetricsRegistry();

const queries = metrics.counter('spfn_db_queries_total', 'Statements run, by pool role and outcome', [
  'role',
  'outcome',
]);
const queryDuration = metrics.histogram('spfn_db_query_duration_seconds', 'Statement duration, by pool role', ['role']);
const transactions = metrics.counter('spfn_db_transactions_total', 'Transactions ended, by outcome', ['outcome']);
const transactionDuration = metrics.histogram(
  'spfn_db_transaction_duration_seconds',
  'Transaction duration from BEGIN to COMMIT or ROLLBACK, by outcome',
  ['outcome'],
);
const timeouts = metrics.counter(
  'spfn_db_timeouts_total',
  'Timeouts: pool_acquire (no connection in time), transaction (deadline passed), query (statement_timeout)',
  ['kind'],
);
for (const kind of ['pool_acquire', 'transaction', 'query']) timeouts.inc({ kind }, 0);

/** Pool role as the metrics label it. */
export type MetricsRole = 'primary' | 'replica' | 'embedded';

/**
 * Counts one statement. Called by the connection manager around every statement outside a transaction's own
 * connection as well as inside it.
 * @internal
 */
export function recordQuery(role: MetricsRole, durationMs: number, err?: unknown): void {
  queries.inc({ role, outcome: err === undefined ? 'ok' : 'error' });
  queryDuration.observe({ role }, durationMs / 1000);
  if (err !== undefined && toDatabaseError(err).code === 'QUERY_TIMEOUT') timeouts.inc({ kind: 'query' });
}

/**
 * Counts one finished transaction (the outermost owner, not savepoints).
 * @internal
 */
export function recordTransaction(outcome: 'commit' | 'rollback', durationMs: number, timedOut: boolean): void {
  const label = timedOut ? 'timeout' : outcome;
  transactions.inc({ outcome: label });
  transactionDuration.observe({ outcome: label }, durationMs / 1000);
  if (timedOut) timeouts.inc({ kind: 'transaction' });
}

/**
 * Counts one pool acquire timeout.
 * @internal
 */
export function recordPoolTimeout(): void {
  timeouts.inc({ kind: 'pool_acquire' });
}

const destroyed = metrics.counter(
  'spfn_db_connections_destroyed_total',
  'Connections ended in doubt (failed BEGIN/ROLLBACK, no answer to COMMIT) without another statement on them, per ' +
    'pool; confirmed="false" when the session had not closed within the bound',
  ['pool', 'confirmed'],
);

/**
 * Counts one connection ended in doubt.
 * @internal
 */
export function recordConnectionDestroyed(pool: string, confirmed: boolean): void {
  destroyed.inc({ pool, confirmed: String(confirmed) });
}
