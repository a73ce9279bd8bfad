import { describe, expect, it } from '@jest/globals';
import type { StoredSession } from '../store/session-store.interface.js';
import { NearCache } from './near-cache.js';

const session = (storeId: string, userId: string | null = 'u1'): StoredSession => ({
  storeId,
  handle: `h-${storeId}`,
  userId,
  createdAt: 0,
  lastAccessAt: 0,
  absoluteDeadline: 1e15,
  userAgent: null,
  strategy: 'session-id',
  data: new Map(),
});

function upCache(maxEntries = 10, ttlMs = 1000): NearCache {
  const cache = new NearCache(maxEntries, ttlMs);
  cache.setUp(true);
  return cache;
}

function load(cache: NearCache, key: string, now = 0): void {
  cache.finish(cache.begin(key), session(key), now);
}

describe('NearCache', () => {
  it('caches a read reply and serves it until ttlMs', () => {
    const cache = upCache(10, 1000);
    load(cache, 'k');
    expect(cache.lookup('k', 999)?.storeId).toBe('k');
    expect(cache.lookup('k', 1000)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 0 });
  });

  it('counts an entry the store may not serve (a touch due, a deadline passed) as a miss, and drops it', () => {
    const cache = new NearCache(10, 1000, (s, now) => now < s.absoluteDeadline);
    cache.setUp(true);
    cache.finish(cache.begin('k'), { ...session('k'), absoluteDeadline: 500 }, 0);
    expect(cache.lookup('k', 499)).toBeDefined();
    expect(cache.lookup('k', 500)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 0 });
  });

  it('does not cache a reply when the key was invalidated while the read was out', () => {
    const cache = upCache();
    const ticket = cache.begin('k');
    cache.invalidate('k', true);
    expect(cache.finish(ticket, session('k'), 0)).toBe(false);
    expect(cache.lookup('k', 0)).toBeUndefined();
    // A read that starts after the invalidation is cacheable again.
    load(cache, 'k');
    expect(cache.lookup('k', 0)).toBeDefined();
  });

  it('voids every open ticket on a flush', () => {
    const cache = upCache();
    const before = cache.begin('k');
    cache.flush();
    expect(cache.finish(before, session('k'), 0)).toBe(false);
  });

  it("voids the open tickets whose reply is the dropped user's, and no others", () => {
    const cache = upCache();
    const alices = cache.begin('a');
    const bobs = cache.begin('b');
    const guests = cache.begin('g');
    cache.dropUser('alice', () => false);
    const later = cache.begin('a2');
    expect(cache.finish(alices, session('a', 'alice'), 0)).toBe(false);
    expect(cache.finish(bobs, session('b', 'bob'), 0)).toBe(true);
    expect(cache.finish(guests, session('g', null), 0)).toBe(true);
    // Begun after the drop: its reply is as new as the drop.
    expect(cache.finish(later, session('a2', 'alice'), 0)).toBe(true);
    // Once no read is out, the drop is forgotten.
    expect((cache as unknown as { userDropMarks: Map<string, number> }).userDropMarks.size).toBe(0);
  });

  it('serves and caches nothing while the link is down, and starts empty when it comes back', () => {
    const cache = upCache();
    load(cache, 'k');
    const ticket = cache.begin('j');
    cache.setUp(false);
    expect(cache.finish(ticket, session('j'), 0)).toBe(false);
    expect(cache.lookup('k', 0)).toBeUndefined();
    load(cache, 'k');
    expect(cache.stats()).toMatchObject({ state: 'down', entries: 0, bypassed: 1 });
    cache.setUp(true);
    expect(cache.lookup('k', 0)).toBeUndefined();
  });

  it('evicts the least recently used entry beyond maxEntries (approximately: the newer half stays put)', () => {
    const cache = upCache(4);
    for (const key of ['a', 'b', 'c', 'd']) load(cache, key);
    cache.lookup('a', 0); // the oldest entry, read again: moved to the front
    cache.lookup('d', 0); // among the newest: stays where it is
    load(cache, 'e');
    expect(cache.lookup('b', 0)).toBeUndefined();
    for (const key of ['a', 'c', 'd', 'e']) expect(cache.lookup(key, 0)).toBeDefined();
  });

  it('remembers a bounded number of user drops while a read is always out, voiding every open ticket past it', () => {
    const cache = upCache();
    const marks = (cache as unknown as { userDropMarks: Map<string, number> }).userDropMarks;
    let open = cache.begin('k0');
    for (let i = 1; i <= 5_000; i++) {
      // A new read begins before the last one ends: some read is always out.
      const next = cache.begin(`k${i}`);
      cache.dropUser(`user-${i}`);
      cache.finish(open, session(`k${i - 1}`, 'bob'), 0);
      open = next;
      expect(marks.size).toBeLessThanOrEqual(1024);
    }
    const before = cache.begin('kb');
    for (let i = 0; i <= 1024; i++) cache.dropUser(`other-${i}`);
    // Past the bound the drop voided every open ticket, whoever's reply it brings.
    expect(cache.finish(before, session('kb', 'bob'), 0)).toBe(false);
  });

  it("drops the user's entries a predicate selects, and no one else's", () => {
    const cache = upCache();
    for (const [key, user] of [['a1', 'alice'], ['a2', 'alice'], ['a3', 'alice'], ['b', 'bob'], ['g', null]] as const) {
      cache.finish(cache.begin(key), session(key, user), 0);
    }
    cache.dropUser('alice', (s) => s.handle !== 'h-a2');
    expect(['a1', 'a2', 'a3', 'b', 'g'].map((key) => cache.lookup(key, 0) !== undefined)).toEqual([false, true, false, true, true]);
    cache.dropUser('alice');
    expect(cache.lookup('a2', 0)).toBeUndefined();
    expect(cache.stats().entries).toBe(2);
  });

  it('keeps its index of users in step with the entries: replaced, evicted, invalidated, flushed', () => {
    const cache = upCache(2);
    const byUser = (cache as unknown as { byUser: Map<string, Set<string>> }).byUser;
    cache.finish(cache.begin('a'), session('a', 'alice'), 0);
    // The same key read again, now another user's (a rotation handed it over): indexed under bob only.
    cache.finish(cache.begin('a'), session('a', 'bob'), 0);
    expect([...byUser.keys()]).toEqual(['bob']);
    cache.finish(cache.begin('c'), session('c', 'carol'), 0);
    cache.finish(cache.begin('d'), session('d', 'dave'), 0); // evicts a, the oldest
    expect([...byUser.keys()].sort()).toEqual(['carol', 'dave']);
    cache.invalidate('c', true);
    expect([...byUser.keys()]).toEqual(['dave']);
    cache.flush();
    expect(byUser.size).toBe(0);
  });

  it('forgets its bookkeeping once no read of a key is out', () => {
    const cache = upCache();
    const t1 = cache.begin('k');
    const t2 = cache.begin('k');
    cache.finish(t1, null, 0);
    cache.finish(t2, session('k'), 0);
    expect((cache as unknown as { pending: Map<string, unknown> }).pending.size).toBe(0);
  });
});
