/**
 * Resolves or rejects with `promise`, or rejects with `onTimeout()` after `ms`. The timer is always cleared.
 *
 * The timer holds the event loop: a caller awaits this wait, and a process whose only work is that await must
 * not exit in the middle of it (only background timers nobody awaits are unref'd, see docs/adr/1000).
 * @internal
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise that resolves after `ms`. Its timer holds the event loop: the caller awaits it (a retry delay). @internal */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
