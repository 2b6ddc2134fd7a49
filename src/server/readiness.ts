import { getRedisManager, type RedisHealth } from '../cache/index.js';
import { getDatabaseManager } from '../database/index.js';
import type { Pool } from '../connection/pool.js';
import { toDatabaseError } from '../errors/index.js';

/** One probed part. */
export interface PartStatus {
  status: 'up' | 'down';
  /** Milliseconds the probe took (when up). */
  latencyMs?: number;
  /** Why it is down. */
  error?: string;
}

/** What `/health/ready` answers. */
export interface Readiness {
  /** `ready` when the primary, Redis (if configured) and migrations are fine and the server is not shutting down. */
  status: 'ready' | 'not_ready';
  checks: {
    database: {
      primary: PartStatus & { name: string; url: string };
      /** A replica down does not make the service unready: its reads go to the primary. */
      replicas: (PartStatus & { name: string; url: string })[];
    };
    redis: { status: 'disabled' } | { status: 'up' | 'down'; clients: RedisHealth[] };
    migrations: MigrationCheck;
    shutdown: { status: 'serving' | 'draining' };
  };
}

/** The migrations part of readiness. */
export type MigrationCheck =
  | { status: 'up'; pending: 0 }
  | { status: 'pending'; pending: number; names: string[] }
  | { status: 'unknown'; error: string }
  | { status: 'disabled' };

async function probe(pool: Pool, timeoutMs: number): Promise<PartStatus & { name: string; url: string }> {
  const started = performance.now();
  try {
    await pool.ping(timeoutMs);
    return { name: pool.name, url: pool.displayUrl, status: 'up', latencyMs: round(performance.now() - started) };
  } catch (err) {
    return { name: pool.name, url: pool.displayUrl, status: 'down', error: toDatabaseError(err).message };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * Probes every part now (not the last health-check result), in parallel, each bounded by `timeoutMs`.
 * @internal
 */
export async function checkReadiness(
  timeoutMs: number,
  draining: boolean,
  migrations: () => Promise<MigrationCheck>,
): Promise<Readiness> {
  const manager = getDatabaseManager();
  const redisManager = getRedisManager();
  const database: Readiness['checks']['database'] = manager.initialized
    ? await (async () => {
        const { primary, replicas } = manager.pools;
        const [p, ...r] = await Promise.all([primary, ...replicas].map((pool) => probe(pool, timeoutMs)));
        return { primary: p!, replicas: r };
      })()
    : { primary: { name: 'primary', url: '', status: 'down', error: 'database not initialized' }, replicas: [] };
  const [redisClients, migration] = await Promise.all([redisManager.health(timeoutMs), migrations()]);
  const redis: Readiness['checks']['redis'] =
    redisClients.length === 0
      ? { status: 'disabled' }
      : { status: redisClients.every((c) => c.healthy) ? 'up' : 'down', clients: redisClients };
  const ready =
    !draining &&
    database.primary.status === 'up' &&
    redis.status !== 'down' &&
    migration.status !== 'pending' &&
    migration.status !== 'unknown';
  return {
    status: ready ? 'ready' : 'not_ready',
    checks: { database, redis, migrations: migration, shutdown: { status: draining ? 'draining' : 'serving' } },
  };
}
