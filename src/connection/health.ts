import type { ResolvedDatabaseConfig } from '../config/index.js';
import { toDatabaseError } from '../errors/index.js';
import { dbEvents } from '../events/index.js';
import { logger } from '../logger/index.js';
import type { Pool } from './pool.js';
import type { ReadRouter } from './router.js';

const log = logger.child('health');

/** The health of one pool. */
export interface PoolHealth {
  name: string;
  role: 'primary' | 'replica' | 'embedded';
  url: string;
  healthy: boolean;
  /** Milliseconds the last probe took. */
  latencyMs: number | undefined;
  /** Why the last probe failed. */
  error: string | undefined;
  lastCheckedAt: string | undefined;
  /** Failed probes in a row (0 when healthy). */
  consecutiveFailures: number;
  active: number;
  idle: number;
  waiting: number;
  max: number;
}

/** What `getDatabaseHealth()` reports. */
export interface DatabaseHealth {
  /** True when the primary is healthy. */
  healthy: boolean;
  primary: PoolHealth;
  replicas: PoolHealth[];
}

interface Probe {
  pool: Pool;
  replicaIndex: number | undefined;
  healthy: boolean;
  latencyMs: number | undefined;
  error: string | undefined;
  lastCheckedAt: string | undefined;
  /** Failed probes in a row. */
  failures: number;
  /** Probes in a row that got no answer at all within their timeout. */
  unanswered: number;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
}

/**
 * Probes each pool on its own unref'd timer (a probe never overlaps the previous one of the same pool), marks
 * replicas in and out of the read rotation, and emits an event on every change. A pool that fails is
 * reconnected on its own: its connections are dropped (which also fails statements stuck on a server that no
 * longer answers) and it is probed again after `retryInterval`, doubling up to `maxRetries` times, then every
 * `interval`. Other pools are never touched.
 * @internal
 */
export class HealthMonitor {
  readonly #router: ReadRouter;
  readonly #config: ResolvedDatabaseConfig;
  readonly #probes: Probe[];
  #started = false;
  #stopped = false;

  constructor(router: ReadRouter, config: ResolvedDatabaseConfig) {
    this.#router = router;
    this.#config = config;
    this.#probes = [router.primary, ...router.replicas].map((pool, i) => ({
      pool,
      replicaIndex: i === 0 ? undefined : i - 1,
      healthy: i === 0 ? true : router.isHealthy(i - 1),
      latencyMs: undefined,
      error: undefined,
      lastCheckedAt: undefined,
      failures: i === 0 || router.isHealthy(i - 1) ? 0 : 1,
      unanswered: 0,
      timer: undefined,
      running: false,
    }));
    const onReplicaFailure = (index: number, reason: string): void =>
      void this.#failed(this.#probes[index + 1]!, reason);
    router.onReplicaFailure = onReplicaFailure;
  }

  start(): void {
    if (!this.#config.healthCheck.enabled) return;
    this.#started = true;
    for (const probe of this.#probes) this.#schedule(probe, this.#delay(probe));
  }

  stop(): void {
    this.#stopped = true;
    this.#router.onReplicaFailure = undefined;
    for (const probe of this.#probes) clearTimeout(probe.timer);
  }

  /** Probes every pool now (used by readiness checks and tests). */
  async checkNow(): Promise<void> {
    await Promise.all(this.#probes.map((p) => this.#probe(p)));
  }

  report(): DatabaseHealth {
    const [primary, ...replicas] = this.#probes.map((p) => this.#describe(p));
    return { healthy: primary!.healthy, primary: primary!, replicas };
  }

  #describe(p: Probe): PoolHealth {
    return {
      name: p.pool.name,
      role: p.pool.role,
      url: p.pool.displayUrl,
      healthy: p.healthy,
      latencyMs: p.latencyMs,
      error: p.error,
      lastCheckedAt: p.lastCheckedAt,
      consecutiveFailures: p.failures,
      ...p.pool.counts(),
    };
  }

  /** Healthy: the interval. Failing: the reconnect backoff (retryInterval doubling), then the interval. */
  #delay(probe: Probe): number {
    const { interval, retryInterval, reconnect, maxRetries } = this.#config.healthCheck;
    if (probe.failures === 0 || !reconnect || probe.failures > maxRetries) return interval;
    return Math.min(interval, retryInterval * 2 ** (probe.failures - 1));
  }

  #schedule(probe: Probe, ms: number): void {
    if (this.#stopped || !this.#started) return;
    clearTimeout(probe.timer);
    probe.timer = setTimeout(() => {
      probe.timer = undefined;
      void this.#probe(probe).finally(() => {
        if (probe.timer === undefined) this.#schedule(probe, this.#delay(probe));
      });
    }, ms);
    probe.timer.unref();
  }

  async #probe(probe: Probe): Promise<void> {
    if (probe.running || this.#stopped) return;
    probe.running = true;
    const started = performance.now();
    const timeout = Math.min(this.#config.healthCheck.interval, this.#config.pool.connectTimeout * 1000);
    try {
      await (probe.pool.probe ? probe.pool.probe(timeout) : probe.pool.ping(timeout));
      probe.latencyMs = performance.now() - started;
      probe.error = undefined;
      probe.failures = 0;
      probe.unanswered = 0;
      this.#set(probe, true);
    } catch (err) {
      // Refused or closed connections are already dropped by the driver; only a server that stopped answering
      // leaves statements hanging on open sockets, and those need the pool reset. One slow probe can be a busy
      // machine or a server still starting, so it takes two in a row.
      probe.unanswered = performance.now() - started >= timeout - 1 ? probe.unanswered + 1 : 0;
      await this.#failed(probe, toDatabaseError(err).message, true, probe.unanswered >= 2);
    } finally {
      probe.lastCheckedAt = new Date().toISOString();
      probe.running = false;
    }
  }

  /** A probe failed, or a read on a replica failed because of it (`fromProbe` false). */
  async #failed(probe: Probe, reason: string, fromProbe = false, unanswered = false): Promise<void> {
    if (this.#stopped) return;
    if (!fromProbe && !probe.healthy) return;
    probe.error = reason;
    probe.failures += 1;
    this.#set(probe, false);
    if (unanswered && this.#config.healthCheck.reconnect && probe.pool.reset) {
      log.warn({ pool: probe.pool.name, attempt: probe.failures }, 'server stopped answering; reconnecting the pool');
      await probe.pool.reset().catch(() => undefined);
    }
    if (!fromProbe && !probe.running) this.#schedule(probe, this.#delay(probe));
  }

  #set(probe: Probe, healthy: boolean): void {
    if (probe.healthy === healthy || this.#stopped) return;
    probe.healthy = healthy;
    const { pool } = probe;
    dbEvents.emit('health:change', { pool: pool.name, url: pool.displayUrl, healthy, reason: probe.error });
    if (probe.replicaIndex === undefined) {
      if (healthy) log.info({ pool: pool.name }, 'primary is healthy again');
      else log.error({ pool: pool.name, reason: probe.error }, 'primary failed its health check');
      return;
    }
    this.#router.setHealthy(probe.replicaIndex, healthy);
    const healthyReplicas = this.#router.healthyCount();
    if (healthy) {
      log.info({ pool: pool.name }, 'replica is back in the read rotation');
      dbEvents.emit('replica:up', { pool: pool.name, url: pool.displayUrl, healthyReplicas });
    } else {
      log.warn({ pool: pool.name, reason: probe.error }, 'replica removed from the read rotation');
      dbEvents.emit('replica:down', {
        pool: pool.name,
        url: pool.displayUrl,
        reason: probe.error ?? 'health check failed',
        healthyReplicas,
      });
    }
  }
}
