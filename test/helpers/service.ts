import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closedPort } from './pg.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The example service (or another script) running as a child process. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Resolves when the process ends, with performance.now() at that moment. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGKILLs it if still running and waits for the exit. Safe to call twice. */
  kill(): Promise<void>;
}

/**
 * Starts `script` (default: the example service) with `env` on a free port and waits until `/health` answers.
 */
export async function startService(
  env: Record<string, string>,
  options: { script?: string; timeoutMs?: number; waitForHealth?: boolean } = {},
): Promise<ServiceProcess> {
  const port = await closedPort();
  const script = options.script ?? 'examples/service/main.ts';
  // TypeScript runs as `npm start` runs it: through jiti's loader, no compile step.
  const args = script.endsWith('.ts') ? ['--import', 'jiti/register', script] : [script];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
  });
  const service: ServiceProcess = {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    exited,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  if (options.waitForHealth === false) return service;
  const deadline = performance.now() + (options.timeoutMs ?? 90_000);
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    if (done) throw new Error(`service exited before it answered:\n${out}`);
    try {
      const res = await fetch(`${service.url}/health`);
      if (res.ok) return service;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      await service.kill();
      throw new Error(`service did not answer /health in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A parsed JSON response body; tests read fields of it directly. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonBody = any;

/** JSON of a request to the service, with its status and headers. */
export async function call(
  service: ServiceProcess,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: JsonBody; headers: Headers }> {
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
