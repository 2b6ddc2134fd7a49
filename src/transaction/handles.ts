import type { TransactionFrame } from './scope.js';

const frames = new WeakMap<object, TransactionFrame>();

/** Remembers which frame a handle belongs to, for runWithTransaction. @internal */
export function registerHandle(frame: TransactionFrame): void {
  frames.set(frame.handle, frame);
}

/** @internal */
export function frameOf(handle: object): TransactionFrame | undefined {
  return frames.get(handle);
}
