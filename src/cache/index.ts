/**
 * `@spfn/core/cache`: the application's Redis connection on ioredis.
 * @packageDocumentation
 */
export { closeRedis, getRedis, getRedisHealth, getRedisManager, initRedis, tryGetRedis } from './default.js';
export {
  RedisManager,
  RedisNotInitializedError,
  type RedisClients,
  type RedisHealth,
  type RedisManagerOptions,
} from './redis-manager.js';
export type { Redis } from 'ioredis';
export type { RedisOptions } from '../config/index.js';
