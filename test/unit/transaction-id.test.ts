import { describe, expect, it } from 'vitest';

const { nextTransactionId } = (await import(new URL('../../dist/transaction/scope.js', import.meta.url).href)) as {
  nextTransactionId: () => string;
};

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The counter in an id's last 12 hex digits. */
const counterOf = (id: string): number => Number.parseInt(id.slice(24), 16);

describe('transaction ids', () => {
  it('are UUID-shaped (version 4, variant digit), distinct, and count up in their last 12 digits', () => {
    const ids = Array.from({ length: 10_000 }, () => nextTransactionId());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
    const prefix = ids[0]!.slice(0, 24);
    for (let i = 1; i < ids.length; i++) {
      // The process's prefix changes only when the 48-bit counter wraps (2^48 ids), which these cannot reach.
      expect(ids[i]!.slice(0, 24)).toBe(prefix);
      expect(counterOf(ids[i]!)).toBe((counterOf(ids[i - 1]!) + 1) % 2 ** 48);
    }
  });

  it('carry from the low 24 bits into the high ones', () => {
    // The counter is kept as two 24-bit halves; step until the low half wraps (at most 2^24 ids, about a second)
    // and check the id after the carry is the one after the id before it.
    let previous = nextTransactionId();
    for (let i = 0; i <= 2 ** 24; i++) {
      const id = nextTransactionId();
      if (id.slice(30) === '000000') {
        expect(counterOf(id)).toBe((counterOf(previous) + 1) % 2 ** 48);
        expect(id.slice(24, 30)).not.toBe(previous.slice(24, 30));
        expect(previous.slice(30)).toBe('ffffff');
        return;
      }
      previous = id;
    }
    throw new Error('the low half did not wrap within 2^24 ids');
  });
});
