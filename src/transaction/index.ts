export {
  getTransaction,
  getTransactionId,
  onCommit,
  onRollback,
  runOutsideTransaction,
  runWithTransaction,
} from './transaction.js';
export type { IsolationLevel, Propagation, RetryOptions, Transaction, TransactionOptions } from './types.js';
