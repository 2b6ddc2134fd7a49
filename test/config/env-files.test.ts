import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvFiles } from '../../src/config/index.js';

const run = promisify(execFile);
const DIST_DB = fileURLToPath(new URL('../../dist/db/index.js', import.meta.url));
const KEYS = ['SPFN_T_ONLY_LOCAL', 'SPFN_T_ONLY_ENV', 'SPFN_T_BOTH', 'SPFN_T_PRESET', 'SPFN_T_QUOTED'];

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spfn-env-'));
  await writeFile(
    join(dir, '.env.local'),
    'SPFN_T_ONLY_LOCAL=local\nSPFN_T_BOTH=from-local\nSPFN_T_PRESET=from-local\nDB_POOL_MAX=7\n',
  );
  await writeFile(
    join(dir, '.env'),
    [
      '# comment',
      'SPFN_T_ONLY_ENV=env',
      'SPFN_T_BOTH=from-env',
      'SPFN_T_PRESET=from-env',
      'SPFN_T_QUOTED="a b # not a comment"',
      'DB_POOL_MAX=3',
      'DB_POOL_IDLE_TIMEOUT=44',
      'DB_HEALTH_CHECK_INTERVAL=1234',
    ].join('\n'),
  );
});

afterAll(async () => {
  for (const key of KEYS) delete process.env[key];
  await rm(dir, { recursive: true, force: true });
});

describe('.env.local and .env', () => {
  it('loads .env.local then .env without overriding variables already set', () => {
    process.env.SPFN_T_PRESET = 'from-process';
    loadEnvFiles(dir);
    expect(process.env.SPFN_T_ONLY_LOCAL).toBe('local');
    expect(process.env.SPFN_T_ONLY_ENV).toBe('env');
    expect(process.env.SPFN_T_BOTH).toBe('from-local');
    expect(process.env.SPFN_T_PRESET).toBe('from-process');
    expect(process.env.SPFN_T_QUOTED).toBe('a b # not a comment');
  });

  it('a directory without the files changes nothing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'spfn-env-empty-'));
    try {
      const before = { ...process.env };
      loadEnvFiles(empty);
      expect({ ...process.env }).toEqual(before);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('the public resolvers read the files of the working directory, the real environment first', async () => {
    const script = `
      const { getPoolConfig, getHealthCheckConfig } = await import(${JSON.stringify(DIST_DB)});
      console.log(JSON.stringify({ pool: getPoolConfig(), health: getHealthCheckConfig() }));`;
    const env = { PATH: process.env.PATH, NODE_ENV: 'production', DB_POOL_IDLE_TIMEOUT: '9' };
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, env });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as {
      pool: { max: number; idleTimeout: number };
      health: { interval: number };
    };
    expect(out.pool.max).toBe(7);
    expect(out.pool.idleTimeout).toBe(9);
    expect(out.health.interval).toBe(1234);
  });

  it('a bad value in a file is a ConfigError naming the variable', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'spfn-env-bad-'));
    try {
      await writeFile(join(bad, '.env'), 'DB_POOL_MAX=lots\n');
      const script = `
        const { getPoolConfig } = await import(${JSON.stringify(DIST_DB)});
        try { getPoolConfig(); console.log('no error'); }
        catch (e) { console.log(JSON.stringify({ name: e.name, variable: e.variable, message: e.message })); }`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: bad,
        env: { PATH: process.env.PATH },
      });
      expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
        name: 'ConfigError',
        variable: 'DB_POOL_MAX',
        message: 'DB_POOL_MAX: expected an integer from 1 to 10000, got "lots"',
      });
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});
