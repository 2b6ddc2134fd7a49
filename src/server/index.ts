/**
 * `@spfn/core/server`: `startServer()`, `createServer()`, graceful shutdown, health, readiness and metrics.
 * @packageDocumentation
 */
export { createServer, startServer, type SpfnServer } from './server.js';
export { errorHandler } from './error-handler.js';
export type { EndpointOptions, FetchApp, ServerConfig, ShutdownOptions } from './types.js';
export type { MigrationCheck, PartStatus, Readiness } from './readiness.js';
export type { ShutdownReport } from './shutdown.js';
export type { MetricsOptions } from '../metrics/index.js';
export type { ResolvedServerConfig, ServerOptions } from '../config/index.js';
