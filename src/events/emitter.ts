import { logger } from '../logger/index.js';
import type { DatabaseEventListener, DatabaseEventName, DatabaseEvents } from './types.js';

const log = logger.child('events');

/**
 * A small typed event emitter. A listener that throws (or returns a rejected promise) is logged and skipped: it
 * never breaks the query, the transaction or the other listeners.
 */
export class DatabaseEventEmitter {
  readonly #listeners = new Map<DatabaseEventName, Set<DatabaseEventListener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<E extends DatabaseEventName>(event: E, listener: DatabaseEventListener<E>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Removes a listener added with `on` or `once`. */
  off<E extends DatabaseEventName>(event: E, listener: DatabaseEventListener<E>): void {
    this.#listeners.get(event)?.delete(listener);
  }

  /** Adds a listener that runs at most once. */
  once<E extends DatabaseEventName>(event: E, listener: DatabaseEventListener<E>): () => void {
    const wrapper: DatabaseEventListener<E> = (payload) => {
      this.off(event, wrapper);
      return listener(payload);
    };
    return this.on(event, wrapper);
  }

  /** True when someone listens to `event`; lets callers skip building a payload. */
  has(event: DatabaseEventName): boolean {
    const set = this.#listeners.get(event);
    return set !== undefined && set.size > 0;
  }

  /** Number of listeners of `event`. */
  listenerCount(event: DatabaseEventName): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Calls every listener of `event` synchronously; never throws. */
  emit<E extends DatabaseEventName>(event: E, payload: DatabaseEvents[E]): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        const result = (listener as DatabaseEventListener<E>)(payload);
        if (result instanceof Promise) {
          result.catch((err: unknown) => log.error({ err, event }, 'database event listener failed'));
        }
      } catch (err) {
        log.error({ err, event }, 'database event listener failed');
      }
    }
  }

  /** Removes every listener (tests). */
  removeAllListeners(event?: DatabaseEventName): void {
    if (event) this.#listeners.delete(event);
    else this.#listeners.clear();
  }
}

/**
 * The process-wide database event bus.
 *
 * @example
 * ```ts
 * dbEvents.on('transaction:rollback', ({ txId, reason }) => metrics.inc(reason));
 * ```
 */
export const dbEvents = new DatabaseEventEmitter();
