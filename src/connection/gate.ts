import { PoolTimeoutError, type PoolCounts } from '../errors/index.js';

interface Waiter {
  exclusive: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  since: number;
}

/**
 * Admission control in front of a pool. A transaction takes an exclusive lease on one connection; a plain query
 * takes a shared lease and may be pipelined on a connection that no transaction holds. A caller waits only when
 * every connection is held by a transaction, and then at most `acquireTimeout` ms before {@link PoolTimeoutError}.
 * @internal
 */
export class Gate {
  readonly #max: number;
  readonly #acquireTimeout: number;
  readonly #pool: string;
  readonly #onTimeout: (err: PoolTimeoutError) => void;
  readonly #onWait: ((pool: string, waitedMs: number) => void) | undefined;
  #exclusive = 0;
  #shared = 0;
  readonly #waiters: Waiter[] = [];
  #closed = false;

  constructor(
    pool: string,
    max: number,
    acquireTimeout: number,
    onTimeout: (err: PoolTimeoutError) => void,
    onWait?: (pool: string, waitedMs: number) => void,
  ) {
    this.#pool = pool;
    this.#onWait = onWait;
    this.#max = max;
    this.#acquireTimeout = acquireTimeout;
    this.#onTimeout = onTimeout;
  }

  get max(): number {
    return this.#max;
  }

  get acquireTimeout(): number {
    return this.#acquireTimeout;
  }

  /** Live counters: active = connections in use, idle = free capacity, waiting = queued callers. */
  counts(): PoolCounts {
    const active = Math.min(this.#max, this.#exclusive + this.#shared);
    return { active, idle: this.#max - active, waiting: this.#waiters.length, max: this.#max };
  }

  /** Takes a shared lease at once when possible; returns undefined then, else a promise. */
  acquireShared(): Promise<void> | undefined {
    if (this.#exclusive < this.#max && this.#waiters.length === 0) {
      this.#shared++;
      return undefined;
    }
    return this.#wait(false);
  }

  releaseShared(): void {
    this.#shared--;
    this.#drain();
  }

  acquireExclusive(): Promise<void> {
    if (this.#exclusive < this.#max && this.#waiters.length === 0) {
      this.#exclusive++;
      return Promise.resolve();
    }
    return this.#wait(true);
  }

  releaseExclusive(): void {
    this.#exclusive--;
    this.#drain();
  }

  /** Fails every waiter (the pool is closing). */
  close(err: Error): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  /** A PoolTimeoutError with the current counters, for a wait that happened outside the gate. */
  timeoutError(): PoolTimeoutError {
    return new PoolTimeoutError(this.#pool, this.#acquireTimeout, this.counts());
  }

  #wait(exclusive: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('pool is closed'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        exclusive,
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          const err = new PoolTimeoutError(this.#pool, this.#acquireTimeout, {
            ...this.counts(),
            waiting: this.#waiters.length + 1,
          });
          this.#onTimeout(err);
          reject(err);
          this.#drain();
        }, this.#acquireTimeout),
        since: performance.now(),
      };
      this.#waiters.push(waiter);
    });
  }

  #drain(): void {
    while (this.#waiters.length > 0 && this.#exclusive < this.#max) {
      const w = this.#waiters.shift()!;
      clearTimeout(w.timer);
      if (w.exclusive) this.#exclusive++;
      else this.#shared++;
      this.#onWait?.(this.#pool, performance.now() - w.since);
      w.resolve();
    }
  }
}
