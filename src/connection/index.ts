export type { DatabaseHealth, PoolHealth } from './health.js';
export type { Pool, PooledConnection, PoolRole } from './pool.js';
export { maskUrl } from './url.js';
