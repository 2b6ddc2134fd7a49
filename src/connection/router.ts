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
  /** Told when a read on a replica failed because of the replica, so it leaves the rotation at once. */
  onReplicaFailure: ((index: number, reason: string) => void) | undefined;

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

  /** The replicas now in the read rotation. */
  healthyReplicas(): Pool[] {
    return this.replicas.filter((_, i) => this.#healthy[i]);
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

  /** A read on `pool` failed because of the replica (unreachable, shutting down). */
  replicaFailed(pool: Pool, reason: string): void {
    const index = this.replicas.indexOf(pool);
    if (index >= 0 && this.#healthy[index]) this.onReplicaFailure?.(index, reason);
  }
}
