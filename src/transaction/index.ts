export {
  getTransaction,
  getTransactionId,
  onCommit,
  onRollback,
  runOutsideTransaction,
  runWithTransaction,
  transaction,
} from './transaction.js';
export { Transactional, type TransactionalOptions } from './middleware.js';
export type { IsolationLevel, Propagation, RetryOptions, Transaction, TransactionOptions } from './types.js';
