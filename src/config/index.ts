export { currentEnv, loadEnvFiles, type Env } from './env.js';
export {
  getHealthCheckConfig,
  getPoolConfig,
  isProductionEnv,
  resolveDatabaseConfig,
  resolveLogLevel,
  resolveRedisConfig,
  resolveServerConfig,
} from './resolve.js';
export type * from './types.js';
export { checkOptions, describeValue, is, isPlainObject, MAX_MILLISECONDS } from './options.js';
export type { Fail, OptionsErrorKind, Rule, Shape } from './options.js';
export { LIMITS, within, type Limit } from './limits.js';
export {
  DATABASE_OPTIONS,
  HEALTH_CHECK_OPTIONS,
  POOL_OPTIONS,
  REDIS_MANAGER_OPTIONS,
  REDIS_OPTIONS,
  SERVER_OPTIONS,
} from './shapes.js';
