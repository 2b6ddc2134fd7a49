import { ambient } from '../context/index.js';
import { TransactionError } from '../errors/index.js';
import { currentFrame } from './runner.js';
import { frameOf } from './handles.js';
import type { TransactionFrame } from './scope.js';
import type { Transaction } from './types.js';

/** The transaction running in this async context, or undefined. */
export function getTransaction<TSchema extends Record<string, unknown> = Record<string, unknown>>():
  Transaction<TSchema> | undefined {
  const frame = currentFrame();
  return frame && frame.scope.state === 'active' ? (frame.handle as unknown as Transaction<TSchema>) : undefined;
}

/** The id of the transaction running in this async context, or undefined. */
export function getTransactionId(): string | undefined {
  return currentFrame()?.txId;
}

/**
 * Runs `fn` with `tx` as the ambient transaction: code inside that calls `getTransaction()`, a repository or
 * `getDatabase()` uses `tx`. `tx` is a handle given by `transaction()` or `getTransaction()`, or the `tx` Drizzle
 * hands to `getDatabase().transaction(async (tx) => …)` (and to `tx.transaction(…)`, a savepoint).
 *
 * @example
 * ```ts
 * app.use('/api/*', async (c, next) => {
 *   await getDatabase().transaction(async (tx) => {
 *     await runWithTransaction(tx, () => next());
 *   });
 * });
 * ```
 */
export function runWithTransaction<T, TSchema extends Record<string, unknown> = Record<string, unknown>>(
  tx: Transaction<TSchema>,
  fn: () => T,
): T {
  const frame = frameOf(tx);
  if (!frame) {
    throw new TransactionError(
      'runWithTransaction() needs a transaction of this package: from transaction(), getTransaction() or getDatabase().transaction()',
    );
  }
  const outer = ambient.getStore();
  return ambient.run({ tx: frame, session: outer?.session, route: outer?.route }, () => startNow(fn()));
}

/**
 * Runs `fn` outside the ambient transaction: its queries use the pools directly (for an audit row that must be
 * kept even if the transaction rolls back).
 */
export function runOutsideTransaction<T>(fn: () => T): T {
  const outer = ambient.getStore();
  return ambient.run({ tx: undefined, session: outer?.session, route: outer?.route }, () => startNow(fn()));
}

/**
 * Drizzle queries are lazy: they run when awaited, in the async context of the `await`. A query returned from a
 * context-switching helper must start inside that context, so its `then` is called here.
 */
function startNow<T>(value: T): T {
  if (value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function') {
    return new Promise((resolve, reject) => {
      (value as unknown as PromiseLike<unknown>).then(resolve, reject);
    }) as T;
  }
  return value;
}

function requireFrame(what: string): TransactionFrame {
  const frame = currentFrame();
  if (!frame || frame.scope.state !== 'active') {
    throw new TransactionError(`${what}() must be called inside a transaction`);
  }
  return frame;
}

/**
 * Registers `fn` to run after the outermost transaction commits (send the e-mail only if the row committed).
 * A callback that throws is logged; it never undoes the commit. Registered in a savepoint that rolls back, it is
 * dropped.
 */
export function onCommit(fn: () => unknown): void {
  requireFrame('onCommit').commitHooks.push(fn);
}

/** Registers `fn` to run after the transaction (or the savepoint it was registered in) rolls back. */
export function onRollback(fn: () => unknown): void {
  requireFrame('onRollback').rollbackHooks.push(fn);
}
