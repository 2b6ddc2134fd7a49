/**
 * Throwaway PostgreSQL clusters for fault tests: initdb/pg_ctl as the `postgres` OS user, free ports, data
 * directories under /tmp, streaming replicas from `pg_basebackup -R`, restarts, SIGSTOP/SIGCONT, backend
 * termination and a leak probe. Every cluster started here is stopped (immediate mode) when the process exits,
 * also after a failed test; call `stopCluster()` in afterAll to clean up earlier.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';

export interface Cluster {
  readonly name: string;
  readonly port: number;
  readonly dataDir: string;
  /** Trust-auth URL to the `postgres` database as the `postgres` role. */
  readonly url: string;
  readonly role: 'primary' | 'replica';
  /** postmaster pid while running. */
  pid(): number | undefined;
}

interface ClusterState extends Cluster {
  running: boolean;
  paused: boolean;
  root: string;
}

const live = new Set<ClusterState>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const cleanup = (): void => {
    for (const b of bouncers) stopBouncerSync(b);
    for (const c of live) stopSync(c);
  };
  process.once('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup();
      process.exit(1);
    });
  }
}

function stopSync(c: ClusterState): void {
  try {
    if (c.paused) resumeSync(c);
    if (c.running) {
      execFileSync(
        'runuser',
        ['-u', OS_USER, '--', `${BIN}/pg_ctl`, '-D', c.dataDir, '-m', 'immediate', '-w', 'stop'],
        {
          stdio: 'ignore',
          timeout: 15_000,
        },
      );
    }
  } catch {
    const pid = c.pid();
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  c.running = false;
  rmSync(c.root, { recursive: true, force: true });
  live.delete(c);
}

async function asPostgres(cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run('runuser', ['-u', OS_USER, '--', `${BIN}/${cmd}`, ...args], {
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function makeRoot(label: string): string {
  const root = mkdtempSync(join(tmpdir(), `spfn-pg-${label}-`));
  chownSync(root, uid(), gid());
  return root;
}

let ids: { uid: number; gid: number } | undefined;
function uid(): number {
  ids ??= readIds();
  return ids.uid;
}
function gid(): number {
  ids ??= readIds();
  return ids.gid;
}
function readIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${OS_USER}:`));
  if (!line) throw new Error(`OS user ${OS_USER} not found`);
  const parts = line.split(':');
  return { uid: Number(parts[2]), gid: Number(parts[3]) };
}

function state(name: string, role: 'primary' | 'replica', root: string, port: number): ClusterState {
  const dataDir = join(root, 'data');
  const c: ClusterState = {
    name,
    role,
    port,
    root,
    dataDir,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    running: false,
    paused: false,
    pid() {
      try {
        return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
      } catch {
        return undefined;
      }
    },
  };
  return c;
}

const BASE_SETTINGS = [
  "listen_addresses = '127.0.0.1'",
  "unix_socket_directories = ''",
  'fsync = off',
  'full_page_writes = off',
  'synchronous_commit = on',
  'shared_buffers = 16MB',
  'max_connections = 100',
  'wal_level = replica',
  'max_wal_senders = 10',
  'hot_standby = on',
  'hot_standby_feedback = on',
  'wal_keep_size = 64MB',
  'logging_collector = off',
];

/** Options of startCluster(). */
export interface ClusterOptions {
  /** Shown in the data directory name. */
  name?: string;
  /** Extra postgresql.conf lines. */
  settings?: string[];
}

/** Starts a fresh primary (initdb, trust auth, replication allowed from 127.0.0.1) on a free port. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  installExitHook();
  const name = options.name ?? 'primary';
  const root = makeRoot(name);
  const port = await freePort();
  const c = state(name, 'primary', root, port);
  live.add(c);
  await asPostgres('initdb', ['-D', c.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  appendFileSync(join(c.dataDir, 'postgresql.conf'), [...BASE_SETTINGS, ...(options.settings ?? [])].join('\n') + '\n');
  appendFileSync(join(c.dataDir, 'pg_hba.conf'), 'host replication all 127.0.0.1/32 trust\n');
  await startServer(c);
  return c;
}

/** Options of startReplica(). */
export interface ReplicaOptions {
  name?: string;
  /** recovery_min_apply_delay in milliseconds. */
  applyDelayMs?: number;
  /** Extra postgresql.conf lines for the replica. */
  settings?: string[];
}

/** A streaming replica of `primary`, cloned with `pg_basebackup -R`. Resolves once it accepts connections. */
export async function startReplica(primary: Cluster, options: ReplicaOptions = {}): Promise<Cluster> {
  installExitHook();
  const name = options.name ?? 'replica';
  const root = makeRoot(name);
  const port = await freePort();
  const c = state(name, 'replica', root, port);
  live.add(c);
  await asPostgres('pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    '-D',
    c.dataDir,
    '-R',
    '-X',
    'stream',
    '--no-sync',
  ]);
  const conf = join(c.dataDir, 'postgresql.auto.conf');
  const lines = [`port = ${port}`];
  if (options.applyDelayMs) lines.push(`recovery_min_apply_delay = '${options.applyDelayMs}ms'`);
  lines.push(...(options.settings ?? []));
  appendFileSync(conf, lines.join('\n') + '\n');
  await startServer(c);
  return c;
}

async function startServer(c: ClusterState): Promise<void> {
  const log = join(c.root, 'server.log');
  writeFileSync(log, '');
  chownSync(log, uid(), gid());
  try {
    await asPostgres('pg_ctl', ['-D', c.dataDir, '-l', log, '-o', `-p ${c.port}`, '-w', '-t', '60', 'start'], 90_000);
  } catch (err) {
    const tail = readFileSync(log, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`${c.name} did not start: ${(err as Error).message}\n${tail}`, { cause: err });
  }
  c.running = true;
  await waitAccepting(c, 30_000);
}

/** Resolves once the server answers a query; returns the time (performance.now()) it first did. */
export async function waitAccepting(cluster: Cluster, timeoutMs = 30_000): Promise<number> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const sql = postgres(cluster.url, { max: 1, connect_timeout: 2, onnotice: () => undefined });
    try {
      await sql`select 1`;
      return performance.now();
    } catch (err) {
      if (performance.now() > until) throw err;
    } finally {
      await sql.end({ timeout: 0 });
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Stops the cluster (immediate mode) and removes its files. Safe to call twice. */
export async function stopCluster(cluster: Cluster | undefined): Promise<void> {
  if (!cluster) return;
  const c = cluster as ClusterState;
  if (!live.has(c)) return;
  if (c.paused) resumeSync(c);
  if (c.running) {
    await asPostgres('pg_ctl', ['-D', c.dataDir, '-m', 'immediate', '-w', 'stop'], 30_000).catch(() => undefined);
  }
  stopSync(c);
}

/** Stops the server and keeps its files (`fast` waits for sessions to be ended cleanly; `immediate` crashes). */
export async function stopServer(cluster: Cluster, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  const c = cluster as ClusterState;
  await asPostgres('pg_ctl', ['-D', c.dataDir, '-m', mode, '-w', 'stop'], 60_000);
  c.running = false;
}

/** Starts a server stopped by stopServer() on the same port. */
export async function startServerAgain(cluster: Cluster): Promise<void> {
  await startServer(cluster as ClusterState);
}

/**
 * Restarts the server in `fast` or `immediate` mode. Resolves with the time (performance.now()) at which it
 * accepted connections again.
 */
export async function restartCluster(cluster: Cluster, mode: 'fast' | 'immediate'): Promise<number> {
  const c = cluster as ClusterState;
  await stopServer(c, mode);
  const log = join(c.root, 'server.log');
  await asPostgres('pg_ctl', ['-D', c.dataDir, '-l', log, '-o', `-p ${c.port}`, '-W', 'start']);
  c.running = true;
  return waitAccepting(c, 60_000);
}

function treeOf(pid: number): number[] {
  let children: number[] = [];
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    // ps exits 1 when there are no children
  }
  return [pid, ...children];
}

/** SIGSTOPs the postmaster and every backend: the server keeps its sockets open but never answers. */
export function pauseCluster(cluster: Cluster): void {
  const c = cluster as ClusterState;
  const pid = c.pid();
  if (!pid) throw new Error(`${c.name} is not running`);
  for (const p of treeOf(pid)) signal(p, 'SIGSTOP');
  c.paused = true;
}

/** SIGCONTs what pauseCluster() stopped. */
export function resumeCluster(cluster: Cluster): void {
  resumeSync(cluster as ClusterState);
}

function resumeSync(c: ClusterState): void {
  const pid = c.pid();
  if (pid) for (const p of treeOf(pid)) signal(p, 'SIGCONT');
  c.paused = false;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

/** Runs one statement on the cluster with a short-lived admin connection. */
export async function adminQuery<T extends Record<string, unknown>>(
  cluster: Cluster,
  text: string,
  params: (string | number)[] = [],
  database = 'postgres',
): Promise<T[]> {
  const url = cluster.url.replace(/\/postgres$/, `/${database}`);
  const sql = postgres(url, {
    max: 1,
    connect_timeout: 5,
    onnotice: () => undefined,
    connection: { application_name: 'spfn-harness' },
  });
  try {
    return (await sql.unsafe(text, params)) as unknown as T[];
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Terminates every backend of `applicationName` (all when omitted, except the harness's own) and waits until
 * they are gone. Returns how many were terminated.
 */
export async function terminateBackends(cluster: Cluster, applicationName?: string): Promise<number> {
  const filter = applicationName === undefined ? "application_name <> 'spfn-harness'" : 'application_name = $1';
  const params = applicationName === undefined ? [] : [applicationName];
  const rows = await adminQuery<{ n: number }>(
    cluster,
    `select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity
       where backend_type = 'client backend' and pid <> pg_backend_pid() and ${filter}) t`,
    params,
  );
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const left = await adminQuery<{ n: number }>(
      cluster,
      `select count(*)::int as n from pg_stat_activity
        where backend_type = 'client backend' and pid <> pg_backend_pid() and ${filter}`,
      params,
    );
    if (left[0]!.n === 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return rows[0]!.n;
}

/**
 * Backends of `applicationName` still connected to the cluster (the leak probe). A backend leaves
 * pg_stat_activity a moment after its client closed the socket, so this waits up to `settleMs` for the list to
 * empty and returns what is left.
 */
export async function leakedBackends(
  cluster: Cluster,
  applicationName: string,
  settleMs = 2000,
): Promise<{ pid: number; state: string | null; query: string | null }[]> {
  const until = Date.now() + settleMs;
  for (;;) {
    const rows = await adminQuery<{ pid: number; state: string | null; query: string | null }>(
      cluster,
      `select pid, state, query from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()`,
      [applicationName],
    );
    if (rows.length === 0 || Date.now() > until) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The replica's replay position has reached the primary's current WAL position. */
export async function waitReplayed(primary: Cluster, replica: Cluster, timeoutMs = 30_000): Promise<void> {
  const [{ lsn }] = (await adminQuery<{ lsn: string }>(primary, 'select pg_current_wal_lsn()::text as lsn')) as [
    { lsn: string },
  ];
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rows = await adminQuery<{ ok: boolean }>(replica, 'select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [
      lsn,
    ]);
    if (rows[0]?.ok) return;
    if (Date.now() > until) throw new Error(`${replica.name} did not replay ${lsn} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A PgBouncer in front of a cluster. */
export interface Bouncer {
  readonly port: number;
  /** Trust-auth URL to the `postgres` database through PgBouncer. */
  readonly url: string;
  stop(): Promise<void>;
}

const bouncers = new Set<{ pidFile: string; root: string }>();

function stopBouncerSync(b: { pidFile: string; root: string }): void {
  try {
    const pid = Number(readFileSync(b.pidFile, 'utf8').trim());
    if (pid) process.kill(pid, 'SIGTERM');
  } catch {
    // not running
  }
  rmSync(b.root, { recursive: true, force: true });
  bouncers.delete(b);
}

/**
 * Starts PgBouncer (Debian package `pgbouncer`, as the `postgres` OS user) in front of `cluster` on a free port.
 * `poolMode` defaults to `transaction`, `poolSize` (server connections) to 2.
 */
export async function startPgBouncer(
  cluster: Cluster,
  options: { poolMode?: 'transaction' | 'session'; poolSize?: number } = {},
): Promise<Bouncer> {
  installExitHook();
  const root = makeRoot('pgbouncer');
  const port = await freePort();
  const b = { pidFile: join(root, 'pgbouncer.pid'), root };
  bouncers.add(b);
  const ini = join(root, 'pgbouncer.ini');
  const users = join(root, 'userlist.txt');
  writeFileSync(users, '"postgres" ""\n');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=127.0.0.1 port=${cluster.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${users}`,
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      `default_pool_size = ${options.poolSize ?? 2}`,
      'max_client_conn = 200',
      'ignore_startup_parameters = extra_float_digits,options',
      `pidfile = ${b.pidFile}`,
      `logfile = ${join(root, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  for (const f of [ini, users]) chownSync(f, uid(), gid());
  await run('runuser', ['-u', OS_USER, '--', process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer', '-d', ini], {
    timeout: 15_000,
  });
  const bouncer: Bouncer = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      stopBouncerSync(b);
      await new Promise((r) => setTimeout(r, 100));
    },
  };
  await waitAccepting({ ...cluster, port, url: bouncer.url }, 15_000);
  return bouncer;
}
