import type { TransactionFrame } from './scope.js';

/**
 * The frame a handle belongs to, kept on the handle itself: a WeakMap entry per transaction (an ephemeron) costs
 * the garbage collector more than the rest of an empty transaction.
 */
const FRAME = Symbol('spfn.transactionFrame');

type Marked = { [FRAME]?: TransactionFrame };

/** The object every Drizzle handle of one frame shares: the client under its session. */
function clientOf(handle: object): object | undefined {
  const client = (handle as { session?: { client?: unknown } }).session?.client;
  return typeof client === 'object' && client !== null ? client : undefined;
}

/**
 * Remembers which frame a handle belongs to, for runWithTransaction. The handle's client is marked when it is made
 * ({@link registerClient}).
 * @internal
 */
export function registerHandle(frame: TransactionFrame): void {
  (frame.handle as Marked)[FRAME] = frame;
}

/**
 * Marks the client of a frame's handle: `getDatabase().transaction(async (tx) => …)` and `tx.transaction(…)` hand
 * out a `tx` that Drizzle builds itself on that client, and a savepoint opened on it finds its frame from it.
 * @internal
 */
export function registerClient(client: object, frame: TransactionFrame): void {
  (client as Marked)[FRAME] = frame;
}

/** @internal */
export function frameOf(handle: object): TransactionFrame | undefined {
  const frame = (handle as Marked)[FRAME];
  if (frame) return frame;
  const client = clientOf(handle);
  return client ? (client as Marked)[FRAME] : undefined;
}
