/**
 * `@spfn/core/db`: connections, transactions, events and (as they land) repositories, schema helpers and
 * migrations.
 * @packageDocumentation
 */
export {
  closeDatabase,
  createDatabaseFromEnv,
  getDatabase,
  getDatabaseHealth,
  getDatabaseManager,
  initDatabase,
  transaction,
  DatabaseManager,
  Transactional,
  type CreatedDatabase,
  type Database,
  type DatabaseInstances,
  type DatabaseManagerOptions,
  type TransactionalOptions,
} from '../database/index.js';
export { maskUrl, type DatabaseHealth, type PoolHealth } from '../connection/index.js';
export {
  getTransaction,
  getTransactionId,
  onCommit,
  onRollback,
  runOutsideTransaction,
  runWithTransaction,
  type IsolationLevel,
  type Propagation,
  type RetryOptions,
  type Transaction,
  type TransactionOptions,
} from '../transaction/index.js';
export { dbEvents, DatabaseEventEmitter } from '../events/index.js';
export type { DatabaseEventName, DatabaseEvents, DatabaseEventListener, QueryEventPayload } from '../events/index.js';
export { getHealthCheckConfig, getPoolConfig, resolveDatabaseConfig } from '../config/index.js';
export type {
  DatabaseOptions,
  HealthCheckOptions,
  PoolOptions,
  ReadConsistency,
  ResolvedDatabaseConfig,
} from '../config/index.js';
export { toDatabaseError } from '../errors/index.js';
export type { MetricsOptions } from '../metrics/index.js';
export type { TracingOptions } from '../tracing/index.js';
export { httpStatusOf } from '../http/index.js';
export {
  foreignKey,
  id,
  optionalForeignKey,
  timestamps,
  updatedAtTriggerSql,
  type ForeignKeyName,
  type ForeignKeyOptions,
  type OptionalForeignKeyOptions,
  type ReferencedId,
  type UpdatedAtTriggerOptions,
} from '../schema/index.js';
export {
  assertNoPendingMigrations,
  getDrizzleConfig,
  getMigrationStatus,
  MigrationError,
  MigrationLockTimeoutError,
  PendingMigrationsError,
  runMigrations,
  type AppliedMigration,
  type DrizzleConfigOptions,
  type DrizzleKitConfig,
  type MigrationProgress,
  type MigrationRunResult,
  type MigrationStatus,
  type MigrationTargetOptions,
  type PendingMigration,
  type RunMigrationsOptions,
} from '../migrations/index.js';
export { getReadToken, withReadSession, type ReadSessionOptions } from '../database/index.js';
export {
  clearRepositoryCache,
  configureRepositories,
  escapeLike,
  getRepository,
  prepare,
  Repository,
  type BulkOptions,
  type ColumnName,
  type CursorPage,
  type DeleteOptions,
  type Filter,
  type FilterOperators,
  type FindManyOptions,
  type FindPageOptions,
  type IdOf,
  type NewRowOf,
  type OrderBy,
  type Page,
  type PlaceholderFactory,
  type PreparableQuery,
  type PreparedQuery,
  type PreparedResult,
  type PrepareOptions,
  type ReadOptions,
  type RepositoryOptions,
  type RepositorySettings,
  type RowOf,
  type UpsertOptions,
  type Where,
} from '../repository/index.js';
