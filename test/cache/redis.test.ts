import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  closeRedis,
  getRedis,
  getRedisHealth,
  initRedis,
  RedisManager,
  RedisNotInitializedError,
  tryGetRedis,
} from '@spfn/core/cache';
import { ConnectionError } from '@spfn/core/errors';
import { closedPort } from '../helpers/pg.js';

const URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const name = `spfn-test-redis-${randomBytes(4).toString('hex')}`;
const prefix = `${name}:`;

async function clientsNamed(connectionName: string): Promise<number> {
  const admin = new Redis(URL);
  try {
    const list = (await admin.client('LIST')) as string;
    return list.split('\n').filter((line) => line.includes(` name=${connectionName} `)).length;
  } finally {
    admin.disconnect();
  }
}

afterAll(async () => {
  await closeRedis();
  const admin = new Redis(URL);
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
});

describe('@spfn/core/cache', () => {
  it('throws a clear error before initRedis()', () => {
    expect(() => getRedis()).toThrow(RedisNotInitializedError);
    expect(tryGetRedis()).toBeUndefined();
  });

  it('connects once, also when called twice at once, and closes safely twice', async () => {
    const [a, b] = await Promise.all([
      initRedis({ url: URL, connectionName: name }),
      initRedis({ url: URL, connectionName: name }),
    ]);
    expect(a).toBeDefined();
    expect(a).toBe(b);
    expect(getRedis()).toBe(a!.write);
    expect(getRedis('read')).toBe(a!.write);
    await getRedis().set(`${prefix}k`, 'v', 'EX', 60);
    expect(await getRedis('read').get(`${prefix}k`)).toBe('v');
    expect(await getRedisHealth()).toMatchObject([{ name: 'write', healthy: true }]);
    expect(await clientsNamed(name)).toBe(1);

    await closeRedis();
    await closeRedis();
    expect(() => getRedis()).toThrow(RedisNotInitializedError);
    expect(await clientsNamed(name)).toBe(0);
  });

  it('uses a separate read client for REDIS_READ_URL', async () => {
    const manager = new RedisManager({ url: URL, readUrl: `${URL}/0`, connectionName: `${name}-rw` });
    const clients = await manager.init();
    expect(clients!.read).not.toBe(clients!.write);
    expect(await clientsNamed(`${name}-rw`)).toBe(2);
    expect((await manager.health()).map((h) => h.name)).toEqual(['write', 'read']);
    await manager.close();
    expect(await clientsNamed(`${name}-rw`)).toBe(0);
  });

  it('is a ConnectionError, without the password, when Redis cannot be reached; nothing stays open', async () => {
    const port = await closedPort();
    const manager = new RedisManager({
      url: `redis://:hunter2secret@127.0.0.1:${port}`,
      connectRetries: 1,
      connectTimeout: 1000,
    });
    const err = await manager.init().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(String((err as Error).message)).toContain(`127.0.0.1:${port}`);
    expect(JSON.stringify(err) + String((err as Error).message) + String((err as Error).stack)).not.toContain(
      'hunter2secret',
    );
    expect(manager.initialized).toBe(false);
    expect(() => manager.get()).toThrow(RedisNotInitializedError);
    await manager.close();
  });

  it('is optional: without a URL init resolves undefined and getRedis says what to set', async () => {
    const saved = { url: process.env.REDIS_URL, write: process.env.REDIS_WRITE_URL, read: process.env.REDIS_READ_URL };
    delete process.env.REDIS_URL;
    delete process.env.REDIS_WRITE_URL;
    delete process.env.REDIS_READ_URL;
    try {
      const manager = new RedisManager();
      expect(await manager.init()).toBeUndefined();
      expect(() => manager.get()).toThrow(/REDIS_URL/);
      expect(await manager.health()).toEqual([]);
      await manager.close();
    } finally {
      for (const [k, v] of Object.entries({
        REDIS_URL: saved.url,
        REDIS_WRITE_URL: saved.write,
        REDIS_READ_URL: saved.read,
      })) {
        if (v !== undefined) process.env[k] = v;
      }
    }
  });

  it('names a bad REDIS_URL in a ConfigError', async () => {
    const manager = new RedisManager({ url: 'http://127.0.0.1:6379' });
    await expect(manager.init()).rejects.toThrow(/redis\.url.*redis:\/\//);
  });

  it('refuses unknown option keys and out-of-range limits, naming the key and the accepted ones', async () => {
    await expect(initRedis({ urll: 'redis://127.0.0.1:6379' } as never)).rejects.toThrow(
      /urll: is not an option; accepted: url, writeUrl, readUrl, connectTimeout, connectRetries, connectionName/,
    );
    expect(() => new RedisManager({ connectRetries: -1 })).toThrow(/connectRetries.*integer from 0 to 100/);
    expect(() => new RedisManager({ closeTimeout: '5' as never })).toThrow(/closeTimeout/);
    expect(tryGetRedis()).toBeUndefined();
  });
});
