export {
  closeDatabase,
  createDatabaseFromEnv,
  getDatabase,
  getDatabaseHealth,
  getDatabaseManager,
  initDatabase,
  type CreatedDatabase,
} from './default.js';
export { DatabaseManager, type Database, type DatabaseInstances, type DatabaseManagerOptions } from './manager.js';
export type { DatabaseHealth, PoolHealth } from './health.js';
export type { Pool, PooledConnection, PoolRole } from './pool.js';
export { maskUrl } from './url.js';
export { getReadToken, withReadSession, type ReadSessionOptions } from './read-session.js';
