/**
 * Resolves or rejects with `promise`, or rejects with `onTimeout()` after `ms`. The timer is always cleared.
 *
 * The timer holds the event loop: a caller awaits this wait, and a process whose only work is that await must
 * not exit in the middle of it (only background timers nobody awaits are unref'd, see docs/adr/1000).
 * @internal
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  // One promise and one reaction: this bounds every COMMIT and ROLLBACK, and each promise also costs the
  // AsyncLocalStorage hooks once a transaction has run.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on as the bounded promise gave it
        reject(err);
      },
    );
  });
}

/** A promise that resolves after `ms`. Its timer holds the event loop: the caller awaits it (a retry delay). @internal */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
