import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  closeDatabase,
  dbEvents,
  getRepository,
  initDatabase,
  transaction,
  type DatabaseEvents,
  type QueryEventPayload,
} from '@spfn/core/db';
import { UniqueViolationError } from '@spfn/core/errors';
import { captureLogs } from '../../helpers/log-capture.js';
import { createTestDatabase, type TestDatabase, expectNoLeaksThenDrop } from '../../helpers/pg.js';
import { DDL, users } from './schema.js';

// The replica URL points at the same server: what is checked is that reads are routed to the replica pool
// (role 'replica' in the events) outside transactions and to the transaction inside one.
let t: TestDatabase;
const repo = () => getRepository(users);
let slow: QueryEventPayload[] = [];
let errors: DatabaseEvents['query:error'][] = [];
let nPlusOne: DatabaseEvents['query:n+1'][] = [];
const off: (() => void)[] = [];
const SECRET = 'hunter2-secret-value';

beforeAll(async () => {
  t = await createTestDatabase('repo_mon');
  await t.sql.unsafe(DDL);
  await initDatabase({
    url: t.url,
    readUrls: [t.url],
    applicationName: t.appName,
    healthCheck: { enabled: false },
    monitoring: { enabled: true, slowThreshold: 0 },
  });
  off.push(dbEvents.on('query:slow', (p) => void (p.operation !== 'query' && slow.push(p))));
  off.push(dbEvents.on('query:error', (p) => void (p.operation !== 'query' && errors.push(p))));
  off.push(dbEvents.on('query:n+1', (p) => void nPlusOne.push(p)));
});

beforeEach(async () => {
  await t.sql`truncate users restart identity cascade`;
  slow = [];
  errors = [];
  nPlusOne = [];
  captureLogs('info'); // slowThreshold 0 makes every call a warning: keep them out of the test output
});

afterAll(async () => {
  off.forEach((f) => f());
  await closeDatabase();
  await expectNoLeaksThenDrop(t);
});

describe('routing with a replica', () => {
  it('reads go to the replica pool, writes to the primary, and both to the transaction inside one', async () => {
    const a = await repo().save({ email: 'a@x.io', name: SECRET });
    expect(await repo().findById(a.id)).toEqual(a);
    expect((await repo().findOne({ email: 'a@x.io' }))?.id).toBe(a.id);
    expect(await repo().findMany({ where: { name: SECRET } })).toHaveLength(1);
    expect((await repo().findPage({ page: 1, size: 5 })).meta.total).toBe(1);
    expect((await repo().findPage({ size: 5, cursor: null })).data).toHaveLength(1);
    expect(await repo().count({ name: SECRET })).toBe(1);
    expect(await repo().exists({ name: SECRET })).toBe(true);
    await repo().update(a.id, { name: 'x' });
    await repo().upsert({ email: 'a@x.io', name: 'y' }, { target: 'email' });
    await repo().updateWhere({ id: a.id }, { name: 'z' });
    await repo().delete(a.id);
    await repo().deleteWhere({ id: a.id });
    const roles = Object.fromEntries(slow.map((e) => [e.operation, e.role]));
    expect(roles).toEqual({
      save: 'primary',
      findById: 'replica',
      findOne: 'replica',
      findMany: 'replica',
      findPage: 'replica',
      count: 'replica',
      exists: 'replica',
      update: 'primary',
      upsert: 'primary',
      updateWhere: 'primary',
      delete: 'primary',
      deleteWhere: 'primary',
    });
    expect(slow.every((e) => e.table === 'users' && e.txId === undefined && e.durationMs >= 0)).toBe(true);

    slow = [];
    let txId: string | undefined;
    await transaction(async () => {
      const b = await repo().save({ email: 'b@x.io', name: 'B' });
      expect(await repo().findById(b.id)).toEqual(b);
      expect(await repo().count()).toBe(1);
      txId = slow[0]?.txId;
    });
    expect(txId).toEqual(expect.any(String));
    expect(slow.map((e) => [e.operation, e.role, e.txId])).toEqual([
      ['save', 'primary', txId],
      ['findById', 'primary', txId],
      ['count', 'primary', txId],
    ]);
  });
});

describe('events', () => {
  it('query:slow and query:error carry operation, table, role and txId, never values', async () => {
    const logs = captureLogs('debug');
    await repo().save({ email: SECRET, name: 'A' });
    const err = await repo()
      .save({ email: SECRET, name: 'B' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ operation: 'save', table: 'users', role: 'primary', code: 'UNIQUE_VIOLATION' });
    expect(errors[0]!.sqlState).toBe('23505');
    expect(JSON.stringify([...slow, ...errors, ...nPlusOne])).not.toContain(SECRET);
    expect(logs.text()).toContain('repository query failed');
    expect(logs.text()).not.toContain(SECRET);
  });

  it('the N+1 detector warns once per transaction with the query shape and no values', async () => {
    const logs = captureLogs('debug');
    const a = await repo().save({ email: 'a@x.io', name: SECRET });
    await transaction(async () => {
      for (let i = 0; i < 25; i++) await repo().findById(a.id);
      for (let i = 0; i < 5; i++) await repo().findOne({ name: SECRET });
    });
    expect(nPlusOne).toHaveLength(1);
    expect(nPlusOne[0]).toMatchObject({ shape: 'users.findById', count: 11 });
    expect(nPlusOne[0]!.txId).toEqual(expect.any(String));
    expect(logs.text().match(/possible N\+1/g)).toHaveLength(1);
    expect(logs.text()).not.toContain(SECRET);

    await transaction(async () => {
      for (let i = 0; i < 12; i++) await repo().findOne({ name: SECRET });
    });
    expect(nPlusOne).toHaveLength(2);
    expect(nPlusOne[1]).toMatchObject({ shape: 'users.findOne(name)', count: 11 });
    expect(JSON.stringify(nPlusOne)).not.toContain(SECRET);

    for (let i = 0; i < 20; i++) await repo().findById(a.id);
    expect(nPlusOne).toHaveLength(2);

    // The first shape's count carries over when a second shape starts being counted.
    await transaction(async () => {
      for (let i = 0; i < 5; i++) await repo().findById(a.id);
      await repo().findOne({ name: SECRET });
      for (let i = 0; i < 6; i++) await repo().findById(a.id);
    });
    expect(nPlusOne).toHaveLength(3);
    expect(nPlusOne[2]).toMatchObject({ shape: 'users.findById', count: 11 });
  });
});
