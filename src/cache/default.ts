import type { Redis } from 'ioredis';
import { RedisManager, type RedisClients, type RedisHealth, type RedisManagerOptions } from './redis-manager.js';

const defaultManager = new RedisManager();

/** The RedisManager behind `initRedis()`, `getRedis()` and `closeRedis()`. */
export function getRedisManager(): RedisManager {
  return defaultManager;
}

/**
 * Connects the default Redis clients from REDIS_WRITE_URL / REDIS_URL and REDIS_READ_URL (options win), checking
 * each with PING. Resolves to undefined when no URL is configured: Redis is optional. Idempotent, also when
 * called twice at once. An unreachable server is a ConnectionError after 2 retries; nothing is left open.
 *
 * @example
 * ```ts
 * await initRedis(); // REDIS_URL=redis://127.0.0.1:6379
 * await getRedis().set('visits', 0);
 * ```
 */
export function initRedis(options?: RedisManagerOptions): Promise<RedisClients | undefined> {
  return defaultManager.init(options);
}

/**
 * The default Redis client (an ioredis `Redis`): `'write'` (default) or `'read'` (REDIS_READ_URL, else the write
 * client). Throws RedisNotInitializedError before `initRedis()`, after `closeRedis()`, or without a Redis URL.
 *
 * @example
 * ```ts
 * const hits = await getRedis().incr(`hits:${path}`);
 * const cached = await getRedis('read').get(`user:${id}`);
 * ```
 */
export function getRedis(role: 'write' | 'read' = 'write'): Redis {
  return defaultManager.get(role);
}

/**
 * The default Redis client, or undefined when Redis is not configured or not initialized.
 *
 * @example
 * ```ts
 * const redis = tryGetRedis();
 * if (redis) await redis.del(`user:${id}`);
 * ```
 */
export function tryGetRedis(role: 'write' | 'read' = 'write'): Redis | undefined {
  return defaultManager.tryGet(role);
}

/**
 * Closes the default clients (QUIT, then drop after 2000 ms). Safe to call twice or when Redis was never used.
 *
 * @example
 * ```ts
 * await closeRedis();
 * ```
 */
export function closeRedis(): Promise<void> {
  return defaultManager.close();
}

/**
 * PINGs each default client (bounded by `timeoutMs`, default 2000); empty when Redis is not configured.
 *
 * @example
 * ```ts
 * const [write] = await getRedisHealth(); // { name: 'write', healthy: true, latencyMs: 0.4, … }
 * ```
 */
export function getRedisHealth(timeoutMs?: number): Promise<RedisHealth[]> {
  return defaultManager.health(timeoutMs);
}
