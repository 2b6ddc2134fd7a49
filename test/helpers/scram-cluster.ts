import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { closedPort } from './pg.js';

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A throwaway PostgreSQL cluster that requires scram-sha-256 passwords (the shared server trusts 127.0.0.1). */
export interface ScramCluster {
  port: number;
  adminPassword: string;
  /** postgres://postgres:…@127.0.0.1:port/postgres */
  adminUrl: string;
  admin: postgres.Sql;
  stop(): Promise<void>;
}

/** Runs a PostgreSQL binary as the `postgres` OS user (initdb refuses root). */
async function asPostgres(cmd: string, args: string[]): Promise<void> {
  const isRoot = process.getuid?.() === 0;
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args]] : [join(BIN, cmd), args];
  await run(file, argv, { timeout: 60_000 });
}

export async function startScramCluster(): Promise<ScramCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'spfn-scram-'));
  const data = join(dir, 'data');
  const adminPassword = `adm-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(dir, 'pw');
  await writeFile(pwfile, adminPassword);
  if (process.getuid?.() === 0) {
    const { uid, gid } = await idOf('postgres');
    await chown(dir, uid, gid);
    await chown(pwfile, uid, gid);
  }
  await chmod(dir, 0o700);
  const port = await closedPort();
  let started = false;
  try {
    await asPostgres('initdb', [
      '-D',
      data,
      '-A',
      'scram-sha-256',
      '-U',
      'postgres',
      `--pwfile=${pwfile}`,
      '--no-sync',
    ]);
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=30`;
    await asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', opts, '-w', '-t', '60', 'start']);
    started = true;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const adminUrl = `postgres://postgres:${adminPassword}@127.0.0.1:${port}/postgres`;
  const admin = postgres(adminUrl, { max: 2, onnotice: () => undefined });
  return {
    port,
    adminPassword,
    adminUrl,
    admin,
    async stop() {
      await admin.end({ timeout: 2 }).catch(() => undefined);
      if (started) await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function idOf(user: string): Promise<{ uid: number; gid: number }> {
  const [{ stdout: u }, { stdout: g }] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
  return { uid: Number(u.trim()), gid: Number(g.trim()) };
}
