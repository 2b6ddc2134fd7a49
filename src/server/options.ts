import {
  is,
  MAX_MILLISECONDS,
  REDIS_MANAGER_OPTIONS,
  SERVER_OPTIONS,
  type Rule,
  type ShapeOf,
} from '../config/index.js';
import { DATABASE_MANAGER_OPTIONS } from '../database/manager.js';
import { METRICS_OPTIONS_RULE } from '../metrics/index.js';
import type { EndpointOptions, ServerConfig, ShutdownOptions } from './types.js';

const PATH_OR_OFF = is.anyOf('a path or false', is.string, (value, key, fail) => {
  if (value !== false) fail(key, 'expected false');
});

const FETCH_APP: Rule = (value, key, fail) => {
  if (typeof (value as { fetch?: unknown } | null)?.fetch !== 'function') {
    fail(key, 'expected an app with a fetch() method (a Hono app)');
  }
};

/**
 * `ServerConfig`, for the options validator: `startServer()`, `createServer()` and `server.config.ts` refuse
 * unknown keys and wrong types, nested ones included (`database.pool.max`).
 * @internal
 */
export const SERVER_CONFIG = {
  ...SERVER_OPTIONS,
  app: FETCH_APP,
  database: is.object(DATABASE_MANAGER_OPTIONS),
  redis: is.anyOf('Redis options or false', is.object(REDIS_MANAGER_OPTIONS), (value, key, fail) => {
    if (value !== false) fail(key, 'expected false');
  }),
  endpoints: is.object({
    health: PATH_OR_OFF,
    ready: PATH_OR_OFF,
    metrics: PATH_OR_OFF,
    probeTimeout: is.integer(1, MAX_MILLISECONDS, 'milliseconds'),
  } satisfies ShapeOf<EndpointOptions>),
  shutdown: is.object({
    signals: is.arrayOf(is.string),
    exitProcess: is.boolean,
    onShutdown: is.function,
  } satisfies ShapeOf<ShutdownOptions>),
  configFile: PATH_OR_OFF,
  readTokenHeader: is.anyOf('a header name or false', is.string, (value, key, fail) => {
    if (value !== false) fail(key, 'expected false');
  }),
  beforeStart: is.function,
  bodyLimit: is.anyOf(
    'a number of bytes from 1 to 2147483647, or false',
    is.integer(1, 2_147_483_647, 'bytes'),
    (value, key, fail) => {
      if (value !== false) fail(key, 'expected false');
    },
  ),
  metrics: METRICS_OPTIONS_RULE,
} satisfies ShapeOf<ServerConfig>;
