import { getRedisManager, type RedisHealth } from '../cache/index.js';
import { getDatabaseManager } from '../database/index.js';
import type { Pool } from '../connection/pool.js';
import { toDatabaseError, type PoolCounts } from '../errors/index.js';

/** One probed part. */
export interface PartStatus {
  status: 'up' | 'down';
  /** Milliseconds the probe took (when up). */
  latencyMs?: number;
  /** Why it is down. */
  error?: string;
}

/** A database pool's part: the probe's answer and the pool's live counters. */
export interface PoolPartStatus extends PartStatus {
  name: string;
  url: string;
  /** Connections in use, free capacity, callers queued and the size limit, when the probe ran. */
  pool: PoolCounts;
}

/** What `/health/ready` answers. */
export interface Readiness {
  /** `ready` when the primary, Redis (if configured) and migrations are fine and the server is not shutting down. */
  status: 'ready' | 'not_ready';
  checks: {
    database: {
      /** Down also when the pool cannot hand out a connection within the probe timeout (all in use). */
      primary: PoolPartStatus | (PartStatus & { name: string; url: string });
      /** A replica down does not make the service unready: its reads go to the primary. */
      replicas: PoolPartStatus[];
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

/**
 * A round trip through the pool itself (not the health check's own connection): a pool whose connections are all
 * held shows as down, with its counters.
 */
async function probe(pool: Pool, timeoutMs: number): Promise<PoolPartStatus> {
  const started = performance.now();
  const part = { name: pool.name, url: pool.displayUrl };
  try {
    await pool.ping(timeoutMs);
    return { ...part, status: 'up', latencyMs: round(performance.now() - started), pool: pool.counts() };
  } catch (err) {
    const counts = pool.counts();
    const error =
      counts.idle === 0
        ? `No connection free within ${timeoutMs} ms: all ${counts.max} in use, ${counts.waiting} waiting`
        : toDatabaseError(err).message;
    return { ...part, status: 'down', error, pool: counts };
  }
}

/** `promise`, or `fallback()` once `ms` pass: no part of readiness may hold the answer up. */
async function within<T>(promise: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback()), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? toDatabaseError(err).message : String(err);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * Probes every part now (not the last health-check result), in parallel, each bounded by `timeoutMs`: the
 * answer comes within `timeoutMs` and a few milliseconds, whatever the database, Redis or the pool do.
 * @internal
 */
export async function checkReadiness(
  timeoutMs: number,
  draining: boolean,
  migrations: () => Promise<MigrationCheck>,
): Promise<Readiness> {
  const manager = getDatabaseManager();
  const redisManager = getRedisManager();
  const unanswered = `No answer within ${timeoutMs} ms`;
  const databasePart: Promise<Readiness['checks']['database']> = manager.initialized
    ? (async () => {
        const { primary, replicas } = manager.pools;
        const [p, ...r] = await Promise.all([primary, ...replicas].map((pool) => probe(pool, timeoutMs)));
        return { primary: p!, replicas: r };
      })()
    : Promise.resolve({
        primary: { name: 'primary', url: '', status: 'down', error: 'database not initialized' },
        replicas: [],
      });
  const [database, redisClients, migration] = await Promise.all([
    // The probes bound themselves; the margin only guards against a probe that does not.
    within(databasePart, timeoutMs + 50, () => ({
      primary: { name: 'primary', url: '', status: 'down' as const, error: unanswered },
      replicas: [],
    })),
    within(redisManager.health(timeoutMs), timeoutMs + 50, () => [
      { name: 'write' as const, url: '', healthy: false, latencyMs: undefined, error: unanswered },
    ]),
    within(
      migrations().catch((err: unknown) => ({ status: 'unknown' as const, error: errorText(err) })),
      timeoutMs,
      (): MigrationCheck => ({ status: 'unknown', error: unanswered }),
    ),
  ]);
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
