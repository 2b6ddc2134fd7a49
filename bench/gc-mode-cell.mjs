// One process of bench/gc-mode.mjs: CASE run by GC_CALLERS callers (2) for 4 s after a 2 s warm-up, one point select
// of the bench items per call; prints MEASURE / END around the measured part (for the driver's --trace-gc-nvp
// figures) and one JSON line with the calls and Node CPU µs per call.
import { AsyncLocalStorage } from 'node:async_hooks';
import { items } from './peers/contenders/schema.mjs';

const [dist, url, name] = process.argv.slice(2);
const callers = Number(process.env.GC_CALLERS ?? 2);

/** Each case: open, the call, close. */
async function open() {
  if (name.startsWith('postgres.js')) {
    const { default: postgres } = await import('postgres');
    const sql = postgres(url, { max: 10, onnotice: () => undefined });
    const select = (id) => sql`select * from bench_items where id = ${id}`;
    const als = new AsyncLocalStorage();
    const call = name === 'postgres.js' ? select : (id) => als.run({ id }, select, id);
    return { call, close: () => sql.end() };
  }
  const db = await import(`${dist}/db/index.js`);
  await db.initDatabase({ url, pool: { max: 10 }, healthCheck: { enabled: false }, applicationName: 'spfn-gc-mode' });
  const repo = db.getRepository(items);
  const read = (id) => repo.findById(id);
  const call = name === 'repository' ? read : (id) => db.transaction(() => read(id));
  return { call, close: () => db.closeDatabase() };
}

const { call, close } = await open();
async function drive(ms) {
  let n = 0;
  let stop = false;
  const timer = setTimeout(() => (stop = true), ms);
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (!stop) await call((n++ % 1000) + 1);
    }),
  );
  clearTimeout(timer);
  return n;
}
await drive(2000);
console.log('MEASURE');
const cpu0 = process.cpuUsage();
const n = await drive(4000);
const cpu = process.cpuUsage(cpu0);
console.log('END');
console.log(JSON.stringify({ calls: n, cpuUs: (cpu.user + cpu.system) / n }));
await close();
