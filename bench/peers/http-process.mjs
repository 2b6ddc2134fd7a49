// The server of the HTTP benchmarks (http-server.mjs) in a process of its own, for bench/peers/http.mjs and
// bench/peers/http-ab.mjs: started on the database at `url`, its port read from its first JSON line.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Starts a server for `route`'s cell: `repository-als` runs one transaction first (AsyncLocalStorage on, as in any
 * service with a Transactional() route). Resolves with its port and a `stop()` that ends it.
 */
export async function startServer(url, route) {
  const child = spawn(process.execPath, [join(here, 'http-server.mjs')], {
    cwd: here,
    env: {
      ...process.env,
      PEERS_URL: url,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      ...(route === 'repository-als' ? { HTTP_WARM_TX: '1' } : {}),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    lines.on('line', (line) => {
      try {
        resolve(JSON.parse(line).port);
      } catch {
        // a log line
      }
    });
  });
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin.end();
      }),
  };
}
