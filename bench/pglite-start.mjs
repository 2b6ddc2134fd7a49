// The example service on the embedded database, as `npm start` runs it (after the build): time from spawn to the
// first /health answer, and the process RSS after start and after a CRUD run. Three starts on one new data
// directory: the first creates it, the next two re-open it. Usage: node bench/pglite-start.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = join(mkdtempSync(join(tmpdir(), 'spfn-start-')), 'data');

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const rssMb = (pid) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);

async function once(label, crud) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'jiti/register', 'examples/service/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PGLITE_DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const firstResponseMs = Math.round(performance.now() - started);
  const rssAfterStart = rssMb(child.pid);
  let rssAfterCrud;
  if (crud) {
    for (let i = 0; i < 300; i++) {
      const res = await fetch(`${url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `u${label}-${i}@example.com`, name: `User ${i}` }),
      });
      const user = await res.json();
      await fetch(`${url}/posts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ authorId: user.id, title: `Post ${i}` }),
      });
      if (i % 10 === 0) await fetch(`${url}/users?page=1&size=20`);
    }
    rssAfterCrud = rssMb(child.pid);
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  console.log(
    JSON.stringify({ start: label, firstResponseMs, rssAfterStartMb: rssAfterStart, rssAfterCrudMb: rssAfterCrud }),
  );
}

try {
  await once('new data directory', true);
  await once('restart', true);
  await once('restart', false);
} finally {
  rmSync(dirname(dir), { recursive: true, force: true });
}

function dirname(p) {
  return join(p, '..');
}
