import { describe, expect, it } from 'vitest';
import type { Gate as GateType, Lane } from '../../src/connection/gate.js';

const { Gate } = (await import(new URL('../../dist/connection/gate.js', import.meta.url).href)) as {
  Gate: typeof GateType;
};

function gate(max: number, acquireTimeout = 1000): GateType {
  return new Gate('test', max, acquireTimeout, () => undefined);
}

describe('Gate: plain statements and transactions over N connections', () => {
  it('spreads plain statements over the least-loaded connections', () => {
    const g = gate(3);
    const lanes = Array.from({ length: 9 }, () => g.tryShared()!);
    const perLane = [0, 1, 2].map((i) => lanes.filter((l) => l.index === i).length);
    expect(perLane).toEqual([3, 3, 3]);
    expect(g.counts()).toEqual({ active: 3, idle: 0, waiting: 0, max: 3 });
    for (const l of lanes) g.releaseShared(l);
    expect(g.counts()).toEqual({ active: 0, idle: 3, waiting: 0, max: 3 });
  });

  it('a transaction under a flood of plain statements gets a connection once its statements finish', async () => {
    const g = gate(2);
    const flood: Lane[] = Array.from({ length: 6 }, () => g.tryShared()!);
    let got: Lane | undefined;
    const tx = g.acquireExclusive().then((lane) => (got = lane));
    // The promised lane takes no new plain statement; the other still does.
    const more = Array.from({ length: 4 }, () => g.tryShared()!);
    const promised = [0, 1].find((i) => !more.some((l) => l.index === i))!;
    expect(more.every((l) => l.index !== promised)).toBe(true);
    for (const l of flood.filter((x) => x.index === promised)) g.releaseShared(l);
    await tx;
    expect(got?.index).toBe(promised);
    expect(got?.held).toBe(true);
    expect(g.tryShared()?.index).toBe(1 - promised);
  });

  it('when every connection is held, callers wait in line and time out with the counts', async () => {
    const g = gate(1, 50);
    const lane = await g.acquireExclusive();
    const plain = g.acquireShared().catch((e: unknown) => e);
    const tx = g.acquireExclusive().catch((e: unknown) => e);
    expect(g.counts()).toEqual({ active: 1, idle: 0, waiting: 2, max: 1 });
    expect(await plain).toMatchObject({ code: 'POOL_TIMEOUT', active: 1, waiting: 2 });
    expect(await tx).toMatchObject({ code: 'POOL_TIMEOUT' });
    g.releaseExclusive(lane);
    expect(g.counts()).toEqual({ active: 0, idle: 1, waiting: 0, max: 1 });
  });

  it('a transaction that timed out while its connection drained leaves the connection to plain statements', async () => {
    const g = gate(1, 30);
    const busy = g.tryShared()!;
    const tx = g.acquireExclusive().catch((e: unknown) => e);
    expect(g.tryShared()).toBeUndefined();
    expect(await tx).toMatchObject({ code: 'POOL_TIMEOUT' });
    const after = g.tryShared();
    expect(after?.index).toBe(0);
    g.releaseShared(after!);
    g.releaseShared(busy);
    expect(g.counts()).toMatchObject({ active: 0, waiting: 0 });
  });

  it('a released connection goes to the waiters in arrival order', async () => {
    const g = gate(1);
    const first = await g.acquireExclusive();
    const order: string[] = [];
    const a = g.acquireShared().then((l) => (order.push('plain'), l));
    const b = g.acquireExclusive().then((l) => (order.push('tx'), l));
    g.releaseExclusive(first);
    g.releaseShared(await a);
    g.releaseExclusive(await b);
    expect(order).toEqual(['plain', 'tx']);
    expect(g.counts()).toMatchObject({ active: 0, waiting: 0 });
  });
});
