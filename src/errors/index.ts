export { DatabaseError, type DatabaseErrorDetails } from './database-error.js';
export {
  CheckViolationError,
  ConfigError,
  ConnectionError,
  DatabaseNotInitializedError,
  DeadlockError,
  ForeignKeyViolationError,
  InvalidInputError,
  InvalidQueryError,
  NotFoundError,
  NotNullViolationError,
  PoolTimeoutError,
  QueryError,
  QueryTimeoutError,
  SerializationError,
  StaleVersionError,
  TransactionError,
  TransactionTimeoutError,
  UniqueViolationError,
  type PoolCounts,
} from './classes.js';
export { toDatabaseError, findServerError, ServerError } from './map.js';
