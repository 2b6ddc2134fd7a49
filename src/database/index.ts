export {
  closeDatabase,
  createDatabaseFromEnv,
  getDatabase,
  getDatabaseHealth,
  getDatabaseManager,
  initDatabase,
  transaction,
  type CreatedDatabase,
} from './default.js';
export { DatabaseManager, type Database, type DatabaseInstances, type DatabaseManagerOptions } from './manager.js';
export { Transactional, type TransactionalOptions } from './middleware.js';
export { getReadToken, withReadSession, type ReadSessionOptions } from './read-session.js';
