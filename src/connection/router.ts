import type { Pool } from './pool.js';

/**
 * Chooses the pool for a read: the replicas in turn, skipping unhealthy ones; the primary when none is healthy
 * or when there are no replicas.
 * @internal
 */
export class ReadRouter {
  readonly primary: Pool;
  readonly replicas: readonly Pool[];
  readonly #healthy: boolean[];
  #next = 0;

  constructor(primary: Pool, replicas: readonly Pool[]) {
    this.primary = primary;
    this.replicas = replicas;
    this.#healthy = replicas.map(() => true);
  }

  /** The next healthy replica, or the primary. */
  pick(): Pool {
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const index = (this.#next + i) % n;
      if (this.#healthy[index]) {
        this.#next = (index + 1) % n;
        return this.replicas[index]!;
      }
    }
    return this.primary;
  }

  setHealthy(index: number, healthy: boolean): void {
    this.#healthy[index] = healthy;
  }

  isHealthy(index: number): boolean {
    return this.#healthy[index] === true;
  }

  healthyCount(): number {
    return this.#healthy.filter(Boolean).length;
  }
}
