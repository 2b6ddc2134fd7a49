import { getDatabaseManager } from '../database/index.js';
import { metrics } from '../metrics/index.js';

const active = metrics.gauge('spfn_db_pool_active_connections', 'Connections held by a caller, per pool', ['pool']);
const idle = metrics.gauge('spfn_db_pool_idle_connections', 'Connections open and free, per pool', ['pool']);
const waiting = metrics.gauge('spfn_db_pool_waiting_requests', 'Callers queued for a connection, per pool', ['pool']);
const size = metrics.gauge('spfn_db_pool_max_connections', 'Pool size limit, per pool', ['pool']);
const healthy = metrics.gauge('spfn_db_pool_healthy', '1 when the last health check of the pool passed', ['pool']);

/** HTTP requests answered, by method and status class. @internal */
export const httpRequests = metrics.counter('spfn_http_requests_total', 'HTTP requests answered', ['method', 'status']);
/** @internal */
export const httpDuration = metrics.histogram('spfn_http_request_duration_seconds', 'HTTP request duration', [
  'method',
]);
/** @internal */
export const httpInFlight = metrics.gauge('spfn_http_requests_in_flight', 'HTTP requests being served');

/** Refreshes the pool gauges from the default database at each scrape. @internal */
export function collectPoolGauges(): void {
  for (const gauge of [active, idle, waiting, size, healthy]) gauge.reset();
  const manager = getDatabaseManager();
  if (!manager.initialized) return;
  const report = manager.health();
  for (const pool of [report.primary, ...report.replicas]) {
    const labels = { pool: pool.name };
    active.set(labels, pool.active);
    idle.set(labels, pool.idle);
    waiting.set(labels, pool.waiting);
    size.set(labels, pool.max);
    healthy.set(labels, pool.healthy ? 1 : 0);
  }
}

metrics.addCollector(collectPoolGauges);
