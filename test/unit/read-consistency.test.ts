import { describe, expect, it } from 'vitest';
import { mayWrite, parseLsn, sessionFromToken, tokenOf } from '../../src/connection/consistency.js';

describe('read-your-writes helpers', () => {
  it('orders LSNs across the 32-bit boundary', () => {
    expect(parseLsn('0/16B3748')).toBe(0x16b3748n);
    expect(parseLsn('1/0')! > parseLsn('0/FFFFFFFF')!).toBe(true);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) + 0xb374d848n);
    expect(parseLsn('nope')).toBeUndefined();
    expect(parseLsn('1/2/3')).toBeUndefined();
  });

  it('treats only plain reads and transaction control as non-writes', () => {
    for (const text of ['select 1', '  SELECT * from t', 'show work_mem', 'begin', 'commit', 'set local x = 1']) {
      expect(mayWrite(text)).toBe(false);
    }
    for (const text of [
      'insert into t values (1)',
      'update t set a = 1',
      'delete from t',
      'with d as (delete from t) select 1',
      'create table x ()',
    ]) {
      expect(mayWrite(text)).toBe(true);
    }
  });

  it('round-trips a session through a token and ignores malformed tokens', async () => {
    const session = { lsn: '0/3000060', lastWriteAt: performance.now() - 100 };
    const token = await tokenOf(session, undefined);
    expect(token).toMatch(/^1\.0\/3000060\.\d+$/);
    const restored = sessionFromToken(token);
    expect(restored.lsn).toBe('0/3000060');
    expect(Math.abs(restored.lastWriteAt - session.lastWriteAt)).toBeLessThan(50);
    for (const bad of [undefined, null, '', 'x', '1.zz/1.5', '2.0/1.5', '1.0/1.', `1.0/1.${'9'.repeat(30)}`]) {
      const fresh = sessionFromToken(bad);
      expect(fresh).toEqual({ lsn: undefined, lastWriteAt: 0 });
    }
    expect(await tokenOf({ lsn: undefined, lastWriteAt: 0 }, undefined)).toBeUndefined();
    // A write time from the future (a forged token) is capped at now.
    const future = sessionFromToken(`1.-.${Date.now() + 3_600_000}`);
    expect(future.lastWriteAt).toBeLessThanOrEqual(performance.now() + 1);
  });
});
