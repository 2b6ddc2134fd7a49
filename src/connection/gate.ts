import { PoolTimeoutError, type PoolCounts } from '../errors/index.js';

/**
 * One connection slot of a pool, as the gate sees it.
 * @internal
 */
export interface Lane {
  /** Position in the pool, 0 … max − 1. */
  readonly index: number;
  /** Plain statements running or pipelined on this connection. */
  shared: number;
  /** Held by one caller exclusively (a transaction). */
  held: boolean;
  /** The exclusive waiter this lane is promised to once its plain statements finish; none may join it meanwhile. */
  promisedTo: Waiter | undefined;
  /** A cancel request is on its way for the one statement running here: nothing else may be sent until it landed. */
  blocked: boolean;
}

/**
 * Lets a caller give up a wait it no longer needs (a transaction that ended while its first statement waited for a
 * connection): the gate fills in `withdraw` while the caller waits; calling it removes the waiter, which then
 * rejects, and neither holds a connection nor counts as waiting nor times out later.
 * @internal
 */
export interface Withdrawal {
  withdraw?: (() => void) | undefined;
}

interface Waiter {
  exclusive: boolean;
  resolve: (lane: Lane) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  since: number;
  /** For an exclusive waiter: the lane it waits on to drain. */
  lane: Lane | undefined;
}

/**
 * Admission control in front of a pool of `max` connections. A transaction takes an exclusive lease on one idle
 * connection; a plain statement takes a shared lease on the least-loaded connection no transaction holds, and may be
 * pipelined there (docs/adr/0003). A transaction that finds no idle connection picks the least-loaded free one and
 * lets no further plain statement join it, so it gets it once its statements finish, even under a lasting flood of
 * plain statements. A caller waits at most `acquireTimeout` ms before {@link PoolTimeoutError}.
 * @internal
 */
export class Gate {
  readonly #max: number;
  readonly #acquireTimeout: number;
  readonly #pool: string;
  readonly #onTimeout: (err: PoolTimeoutError) => void;
  readonly #onWait: ((pool: string, waitedMs: number) => void) | undefined;
  readonly #lanes: Lane[];
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
    this.#lanes = Array.from({ length: max }, (_, index) => ({
      index,
      shared: 0,
      held: false,
      promisedTo: undefined,
      blocked: false,
    }));
  }

  get max(): number {
    return this.#max;
  }

  get acquireTimeout(): number {
    return this.#acquireTimeout;
  }

  /** The lanes, for the pool's idle sweep (read only). */
  lanes(): readonly Lane[] {
    return this.#lanes;
  }

  /** Live counters: active = connections in use, idle = the others, waiting = queued callers. */
  counts(): PoolCounts {
    let active = 0;
    for (const lane of this.#lanes) if (lane.held || lane.shared > 0) active++;
    return { active, idle: this.#max - active, waiting: this.#waiters.length, max: this.#max };
  }

  /** A shared lease at once on the least-loaded free connection, or undefined when none is free. */
  tryShared(): Lane | undefined {
    const lane = this.#leastLoaded();
    if (lane !== undefined) lane.shared++;
    return lane;
  }

  /** A shared lease, waiting in line when no connection is free. */
  acquireShared(): Promise<Lane> {
    const lane = this.tryShared();
    return lane === undefined ? this.#wait(false) : Promise.resolve(lane);
  }

  releaseShared(lane: Lane): void {
    lane.shared--;
    if (this.#waiters.length > 0) this.#drain();
  }

  acquireExclusive(withdrawal?: Withdrawal): Promise<Lane> {
    if (!this.#waiters.some((w) => w.exclusive)) {
      const lane = this.#idle();
      if (lane !== undefined) {
        lane.held = true;
        return Promise.resolve(lane);
      }
    }
    const waiting = this.#wait(true, withdrawal);
    this.#drain();
    return waiting;
  }

  releaseExclusive(lane: Lane): void {
    lane.held = false;
    if (this.#waiters.length > 0) this.#drain();
  }

  /**
   * Keeps every new statement off `lane` (a cancel request is on its way for the one running there), then lets them
   * back once `until` settled.
   */
  async block(lane: Lane, until: Promise<unknown>): Promise<void> {
    lane.blocked = true;
    try {
      await until;
    } finally {
      lane.blocked = false;
      if (this.#waiters.length > 0) this.#drain();
    }
  }

  /** Fails every waiter (the pool is closing). */
  close(err: Error): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      if (w.lane) w.lane.promisedTo = undefined;
      w.reject(err);
    }
  }

  /** A PoolTimeoutError with the current counters, for a wait that happened outside the gate. */
  timeoutError(): PoolTimeoutError {
    return new PoolTimeoutError(this.#pool, this.#acquireTimeout, this.counts());
  }

  /** The free connection with the fewest plain statements (the first idle one when there is one). */
  #leastLoaded(): Lane | undefined {
    let best: Lane | undefined;
    for (const lane of this.#lanes) {
      if (lane.held || lane.promisedTo !== undefined || lane.blocked) continue;
      if (lane.shared === 0) return lane;
      if (best === undefined || lane.shared < best.shared) best = lane;
    }
    return best;
  }

  #idle(): Lane | undefined {
    for (const lane of this.#lanes) {
      if (!lane.held && lane.promisedTo === undefined && lane.shared === 0 && !lane.blocked) return lane;
    }
    return undefined;
  }

  #wait(exclusive: boolean, withdrawal?: Withdrawal): Promise<Lane> {
    if (this.#closed) return Promise.reject(new Error('pool is closed'));
    return new Promise<Lane>((resolve, reject) => {
      const waiter: Waiter = {
        exclusive,
        resolve,
        reject,
        lane: undefined,
        timer: setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          if (waiter.lane) waiter.lane.promisedTo = undefined;
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
      if (withdrawal !== undefined) {
        // Through a constant: a function assigned straight to a property is made in the old generation, where it
        // would keep this waiter's young objects alive after it is gone (docs/adr/0013).
        const withdraw = (): void => {
          withdrawal.withdraw = undefined;
          const i = this.#waiters.indexOf(waiter);
          if (i < 0) return;
          this.#waiters.splice(i, 1);
          clearTimeout(waiter.timer);
          if (waiter.lane) waiter.lane.promisedTo = undefined;
          reject(new Error('withdrawn'));
          this.#drain();
        };
        withdrawal.withdraw = withdraw;
      }
    });
  }

  /** Serves waiters in arrival order; a transaction promised a draining lane lets the callers behind it pass. */
  #drain(): void {
    let i = 0;
    while (i < this.#waiters.length) {
      const w = this.#waiters[i]!;
      if (!w.exclusive) {
        const lane = this.#leastLoaded();
        if (lane === undefined) return;
        lane.shared++;
        this.#hand(i, w, lane);
        continue;
      }
      if (w.lane !== undefined && w.lane.shared === 0 && !w.lane.blocked) {
        const lane = w.lane;
        lane.promisedTo = undefined;
        lane.held = true;
        this.#hand(i, w, lane);
        continue;
      }
      const idle = this.#idle();
      if (idle !== undefined) {
        if (w.lane) w.lane.promisedTo = undefined;
        idle.held = true;
        this.#hand(i, w, idle);
        continue;
      }
      if (w.lane === undefined) {
        const lane = this.#leastLoaded();
        if (lane === undefined) return;
        lane.promisedTo = w;
        w.lane = lane;
      }
      i++;
    }
  }

  #hand(i: number, w: Waiter, lane: Lane): void {
    this.#waiters.splice(i, 1);
    clearTimeout(w.timer);
    this.#onWait?.(this.#pool, performance.now() - w.since);
    w.resolve(lane);
  }
}
