import { afterAll, describe, expect, it } from 'vitest';
import {
  adminQuery,
  leakedBackends,
  pauseCluster,
  resumeCluster,
  startCluster,
  startReplica,
  stopCluster,
  terminateBackends,
  waitReplayed,
  type Cluster,
} from '../harness/cluster.js';
import postgres from 'postgres';

describe('fault harness', () => {
  let primary: Cluster | undefined;
  let replica: Cluster | undefined;
  afterAll(async () => {
    await stopCluster(replica);
    await stopCluster(primary);
  });

  it('starts a primary and a streaming replica, pauses, terminates and probes leaks', async () => {
    primary = await startCluster({ name: 'h-primary' });
    replica = await startReplica(primary, { name: 'h-replica' });
    await adminQuery(primary, 'create table t (id int)');
    await adminQuery(primary, 'insert into t values (1)');
    await waitReplayed(primary, replica);
    const rows = await adminQuery<{ n: number }>(replica, 'select count(*)::int as n from t');
    expect(rows[0]!.n).toBe(1);
    const standby = await adminQuery<{ r: boolean }>(replica, 'select pg_is_in_recovery() as r');
    expect(standby[0]!.r).toBe(true);

    const sql = postgres(primary.url, { max: 2, connection: { application_name: 'h-app' } });
    await Promise.all([sql`select pg_sleep(0.05)`, sql`select pg_sleep(0.05)`]);
    expect((await leakedBackends(primary, 'h-app')).length).toBe(2);
    expect(await terminateBackends(primary, 'h-app')).toBe(2);
    expect((await leakedBackends(primary, 'h-app')).length).toBe(0);

    pauseCluster(primary);
    const hung = await Promise.race([
      sql`select 1`.then(
        () => 'answered',
        () => 'failed',
      ),
      new Promise((r) => setTimeout(() => r('hung'), 500)),
    ]);
    expect(hung).toBe('hung');
    resumeCluster(primary);
    await sql.end({ timeout: 5 });
  });
});
