import type { TransactionFrame } from './scope.js';

const frames = new WeakMap<object, TransactionFrame>();

/** The object every Drizzle handle of one frame shares: the client under its session. */
function clientOf(handle: object): object | undefined {
  const client = (handle as { session?: { client?: unknown } }).session?.client;
  return typeof client === 'object' && client !== null ? client : undefined;
}

/**
 * Remembers which frame a handle belongs to, for runWithTransaction. The handle's client is remembered too:
 * `getDatabase().transaction(async (tx) => …)` and `tx.transaction(…)` hand out a `tx` that Drizzle builds
 * itself on that client.
 * @internal
 */
export function registerHandle(frame: TransactionFrame): void {
  frames.set(frame.handle, frame);
  const client = clientOf(frame.handle);
  if (client) frames.set(client, frame);
}

/** @internal */
export function frameOf(handle: object): TransactionFrame | undefined {
  const frame = frames.get(handle);
  if (frame) return frame;
  const client = clientOf(handle);
  return client ? frames.get(client) : undefined;
}
