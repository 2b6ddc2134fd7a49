import { DatabaseManager } from '../database/index.js';

/**
 * Opens the database the environment points at (DATABASE_URL, else the embedded PGlite in PGLITE_DATA_DIR) with a
 * small pool and no health check, runs `fn`, and closes it whatever happens.
 * @internal
 */
export async function withDatabase<T>(fn: (manager: DatabaseManager) => Promise<T>): Promise<T> {
  const manager = new DatabaseManager({ pool: { max: 2 }, healthCheck: { enabled: false } });
  try {
    await manager.init();
    return await fn(manager);
  } finally {
    await manager.close();
  }
}
