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
