import type { TransactionScope } from './scope.js';

/** Node fires a longer timer at once; the options validator keeps timeouts below it anyway. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A deadline this close is due: Node's timers count from the loop's time, which may lag `performance.now()`. */
const DUE_SLACK_MS = 1;

/**
 * One running outermost transaction: an entry of the running list (for graceful shutdown) and, when it has a
 * timeout, of the deadline list of that timeout. One object per transaction in place of a Node timer (a Timeout is
 * an async resource with its arguments array, inited through the async hooks on every transaction).
 * @internal
 */
export interface RunningEntry {
  scope: TransactionScope | undefined;
  prev: RunningEntry | undefined;
  next: RunningEntry | undefined;
  /** The deadline list it is in until its deadline passes or it ends. */
  list: DeadlineList | undefined;
  /** `scope.deadlineAt`. */
  deadlineAt: number;
  before: RunningEntry | undefined;
  after: RunningEntry | undefined;
}

/**
 * The transactions of one timeout, in the order they started, which is the order of their deadlines: one Node
 * timer, armed for the first deadline, serves them all. An entry that ends leaves the list in O(1); the timer is
 * not moved then (when it fires early it finds nothing due and is armed again). While the list is empty the timer
 * is unref'd, so it never keeps the process alive after the last transaction, and it is kept for the next one
 * (one transaction at a time would otherwise make and clear a timer each); a list found empty when its timer
 * fires is dropped.
 */
class DeadlineList {
  readonly #timeoutMs: number;
  #first: RunningEntry | undefined = undefined;
  #last: RunningEntry | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  add(entry: RunningEntry): void {
    entry.list = this;
    entry.before = this.#last;
    entry.after = undefined;
    const wasEmpty = this.#last === undefined;
    if (this.#last) this.#last.after = entry;
    else this.#first = entry;
    this.#last = entry;
    // A timer kept from earlier is due no later than this deadline (deadlines only grow).
    if (this.#timer === undefined) this.#arm(entry.deadlineAt);
    else if (wasEmpty) this.#timer.ref();
  }

  remove(entry: RunningEntry): void {
    if (entry.before) entry.before.after = entry.after;
    else this.#first = entry.after;
    if (entry.after) entry.after.before = entry.before;
    else this.#last = entry.before;
    entry.before = entry.after = entry.list = undefined;
    if (this.#first === undefined) this.#timer?.unref();
  }

  #arm(at: number): void {
    const ms = Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(at - performance.now())));
    this.#timer = setTimeout(fireDeadlines, ms, this);
  }

  /** Expires every transaction whose deadline passed, then waits for the next one. */
  fire(): void {
    this.#timer = undefined;
    for (let entry = this.#first; entry !== undefined; entry = this.#first) {
      if (entry.deadlineAt - performance.now() > DUE_SLACK_MS) {
        if (this.#timer === undefined) this.#arm(entry.deadlineAt);
        return;
      }
      const scope = entry.scope;
      this.remove(entry);
      // The scope ends the transaction: the runner rolls it back and its caller gets TransactionTimeoutError.
      scope?.expire(scope.timeoutMs);
    }
    if (this.#timer === undefined && deadlineLists.get(this.#timeoutMs) === this) {
      deadlineLists.delete(this.#timeoutMs);
    }
  }
}

function fireDeadlines(list: DeadlineList): void {
  list.fire();
}

/** The deadline list of each timeout in use (a list leaves the map when its timer finds it empty). */
const deadlineLists = new Map<number, DeadlineList>();

/**
 * The running outermost transactions, for graceful shutdown and their deadlines: a doubly linked list whose
 * removed entries let go of their neighbours. Not a Set: with one entry added and deleted per transaction, a
 * long-lived Set kept transactions' objects alive through young-generation collections — 50 concurrent empty
 * transactions cost 9–10 µs of CPU each (2.7 µs collecting) with a Set, 4 µs (0.4) with this list (docs/adr/0010).
 * @internal
 */
class RunningList {
  readonly #head: RunningEntry = newEntry(undefined, 0);

  /** Adds a started transaction; with a timeout, its deadline is watched from now on. */
  add(scope: TransactionScope): RunningEntry {
    const head = this.#head;
    const entry = newEntry(scope, scope.deadlineAt);
    entry.prev = head;
    entry.next = head.next;
    if (head.next) head.next.prev = entry;
    head.next = entry;
    if (scope.timeoutMs > 0) {
      let list = deadlineLists.get(scope.timeoutMs);
      if (list === undefined) deadlineLists.set(scope.timeoutMs, (list = new DeadlineList(scope.timeoutMs)));
      list.add(entry);
    }
    return entry;
  }

  /** Removes an ended transaction (its deadline is no longer watched). */
  remove(entry: RunningEntry): void {
    entry.list?.remove(entry);
    if (entry.prev === undefined) return;
    entry.prev.next = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    entry.prev = entry.next = entry.scope = undefined;
  }

  /** The scopes of every entry, newest first. */
  all(): TransactionScope[] {
    const out: TransactionScope[] = [];
    for (let e = this.#head.next; e !== undefined; e = e.next) if (e.scope) out.push(e.scope);
    return out;
  }
}

function newEntry(scope: TransactionScope | undefined, deadlineAt: number): RunningEntry {
  return { scope, prev: undefined, next: undefined, list: undefined, deadlineAt, before: undefined, after: undefined };
}

/** @internal */
export const running = new RunningList();
