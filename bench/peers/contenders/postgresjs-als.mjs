// Raw postgres.js as in postgresjs.mjs, each operation run inside AsyncLocalStorage.run with a store, as any
// transaction context on AsyncLocalStorage does: on Node 20 that turns on the promise hooks, which then run for
// every promise of the process. Not in the default list; name it in PEERS_ONLY to see what the hooks cost alone.
import { AsyncLocalStorage } from 'node:async_hooks';
import { open as openRaw } from './postgresjs.mjs';

export async function open(options) {
  const raw = await openRaw(options);
  const als = new AsyncLocalStorage();
  const inContext =
    (op) =>
    (...args) =>
      als.run({ op }, op, ...args);
  return {
    select: inContext(raw.select),
    insert: inContext(raw.insert),
    update: inContext(raw.update),
    tx3: inContext(raw.tx3),
    tx3in: inContext(raw.tx3in),
    close: raw.close,
  };
}
