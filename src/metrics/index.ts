export { Counter, DEFAULT_BUCKETS, Gauge, Histogram, MetricsRegistry, type Labels } from './registry.js';
export {
  metrics,
  recordConnectionDestroyed,
  recordPoolTimeout,
  recordQuery,
  recordTransaction,
  type MetricsRole,
} from './database.js';
