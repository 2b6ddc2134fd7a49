export {
  DURATION_BUCKETS,
  CounterFamily,
  HistogramFamily,
  ownedMetrics,
  reRegister,
  type CounterSeries,
  type HistogramSeries,
} from './families.js';
export {
  DatabaseMetrics,
  type MetricsRole,
  type PoolStats,
  type PoolStatsSource,
  type ReplicaFallback,
} from './database.js';
export {
  databaseMetrics,
  enableDefaultMetrics,
  METRICS_OPTIONS_RULE,
  metricsRegistry,
  type MetricsOptions,
} from './registry.js';
