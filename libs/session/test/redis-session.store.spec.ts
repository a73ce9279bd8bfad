/**
 * RedisSessionStore on a private redis-server: the shared SessionStore contract, then what only
 * Redis can show (key layout, TTLs, round trips, corrupt data, lost scripts, a crashed server).
 * Nothing here mocks Redis; assertions read the server's own state.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Command, Redis, RedisOptions } from 'ioredis';
import { SessionStoreUnavailableError } from '../src/session.errors.js';
import { evictedBefore } from '../src/store/evicted-before-failure.js';
import { RedisSessionStore } from '../src/store/redis-session.store.js';
import {
  META,
  REVOKED_MARK_TTL_MS,
  TOMBSTONE_TTL_MS,
  dataField,
  indexMember,
  sessionKey,
  userIndexKey,
  userRevokedKey,
} from '../src/store/redis-schema.js';
import { deadlineKey } from '../src/store/redis-deadlines.schema.js';
import type { StoreSettings } from '../src/store/session-store.interface.js';
import {
  allKeysAndValues,
  holdsSession,
  redisClientFor,
  startRedisServer,
  type RedisServerHandle,
} from '../../../test/support/redis-server.js';
import {
  delta,
  describeSessionStoreContract,
  newSession,
  newTarget,
  newUserId,
  sleep,
} from './session-store.contract.js';

let server: RedisServerHandle;
let admin: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  admin = await redisClientFor(server);
  admin.on('error', () => {}); // reconnect noise while the server is killed on purpose
});

afterAll(async () => {
  await admin?.quit();
  await server?.stop();
});

/** A store on its own client, so each test can inspect and close exactly what it used. */
async function openRedisStore(
  settings: StoreSettings,
  options: RedisOptions = {},
): Promise<{ store: RedisSessionStore; client: Redis; cleanup(): Promise<void> }> {
  const client = await redisClientFor(server, options);
  const store = new RedisSessionStore(client, settings);
  return { store, client, cleanup: async () => void (await client.quit()) };
}

describeSessionStoreContract('RedisSessionStore', (settings) => openRedisStore(settings));

/** `INFO commandstats` as command name -> calls. Commands run by scripts are counted too. */
async function commandCalls(): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const match of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls[match[1]] = Number(match[2]);
  }
  return calls;
}

const WRITES = ['hset', 'hdel', 'del', 'pexpireat', 'pexpire', 'expire', 'zadd', 'zrem', 'zremrangebyscore'];

function writesBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const diff: Record<string, number> = {};
  for (const name of WRITES) {
    const n = (after[name] ?? 0) - (before[name] ?? 0);
    if (n !== 0) diff[name] = n;
  }
  return diff;
}

describe('RedisSessionStore on Redis', () => {
  const PREFIX = 'sess:';
  const base: StoreSettings = {
    keyPrefix: PREFIX,
    idleMs: 60_000,
    touchAfterMs: 10_000,
    maxDataBytes: 4096,
    maxSessionsPerUser: null,
  };
  const cleanups: Array<() => Promise<void>> = [];

  async function open(overrides: Partial<StoreSettings> = {}): Promise<{ store: RedisSessionStore; client: Redis }> {
    const opened = await openRedisStore({ ...base, ...overrides });
    cleanups.push(opened.cleanup);
    return opened;
  }

  beforeEach(async () => {
    await admin.flushdb();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  /** No session at `key`: the key is absent or holds a deleted session's tombstone alone. */
  async function isGone(key: string): Promise<boolean> {
    const type = await admin.type(key);
    return type === 'hash' ? !(await holdsSession(admin, key)) : type === 'none';
  }

  /**
   * Every key in Redis expires: a session key exactly at min(lastAccess + idle, deadline), never
   * after its deadline; a tombstone within TOMBSTONE_TTL_MS; a user index not before the last
   * deadline it lists.
   */
  async function expectEveryKeyToExpire(idleMs: number): Promise<void> {
    for (const entry of await allKeysAndValues(admin)) {
      expect({ key: entry.key, hasTtl: entry.ttlMs > 0 }).toEqual({ key: entry.key, hasTtl: true });
      const expiresAt = await admin.pexpiretime(entry.key);
      if (entry.type === 'hash' && (await isGone(entry.key))) {
        expect(entry.ttlMs).toBeLessThanOrEqual(TOMBSTONE_TTL_MS);
      } else if (entry.type === 'hash') {
        const [last, deadline] = (await admin.hmget(entry.key, META.lastAccess, META.deadline)).map(Number);
        // create stamps lastAccess and computes the expiry from two Date.now() calls: allow 5 ms.
        expect(Math.abs(expiresAt - Math.min(last + idleMs, deadline))).toBeLessThanOrEqual(5);
        expect(expiresAt).toBeLessThanOrEqual(deadline);
      } else if (entry.type === 'string') {
        // The "sign out everywhere" mark (destroyAllForUser): short-lived.
        expect(entry.key).toMatch(/^sess:revoked:\{/);
        expect(entry.ttlMs).toBeLessThanOrEqual(REVOKED_MARK_TTL_MS);
      } else {
        expect(entry.type).toBe('zset');
        const [, lastDeadline] = await admin.zrange(entry.key, '-1', '-1', 'WITHSCORES');
        expect(expiresAt).toBeGreaterThanOrEqual(Number(lastDeadline));
      }
    }
  }

  it('lays keys out as sess:{storeId} (hash) and sess:user:{userId} (zset of handle.storeId)', async () => {
    const { store } = await open();
    const user = newUserId();
    const signedIn = newSession({ userId: user });
    const guest = newSession();
    await store.create(signedIn);
    await store.create(guest);

    const entries = await allKeysAndValues(admin);

    expect(entries.map(({ key, type }) => ({ key, type }))).toEqual(
      [
        { key: `sess:{${signedIn.storeId}}`, type: 'hash' },
        { key: `sess:{${guest.storeId}}`, type: 'hash' },
        { key: `sess:user:{${user}}`, type: 'zset' },
      ].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    expect(sessionKey(PREFIX, signedIn.storeId)).toBe(`sess:{${signedIn.storeId}}`);
    expect(userIndexKey(PREFIX, user)).toBe(`sess:user:{${user}}`);
    expect(await admin.zrange(userIndexKey(PREFIX, user), 0, '-1', 'WITHSCORES')).toEqual([
      indexMember(signedIn.handle, signedIn.storeId),
      String(signedIn.absoluteDeadline),
    ]);
    expect(await admin.hget(sessionKey(PREFIX, signedIn.storeId), dataField('cart'))).toBe('{"items":[1,2]}');

    // destroy unlinks the session from its user at once (not only when the index is next read),
    // and leaves a tombstone: no data, no session fields, only what a re-sent delete needs, for a minute.
    await store.destroy(signedIn.storeId);
    expect((await allKeysAndValues(admin)).map((e) => e.key)).toEqual([`sess:{${guest.storeId}}`, `sess:{${signedIn.storeId}}`].sort());
    const tombstone = await admin.hgetall(sessionKey(PREFIX, signedIn.storeId));
    expect(Object.keys(tombstone)).toEqual([META.gone]);
    expect(JSON.parse(tombstone[META.gone])).toEqual([expect.stringMatching(/^[\w-]{16}$/), user, signedIn.handle, '']);
    expect(await admin.pttl(sessionKey(PREFIX, signedIn.storeId))).toBeGreaterThan(TOMBSTONE_TTL_MS - 1_000);
    expect(await store.find(signedIn.storeId)).toBeNull();
  });

  it('every key has a TTL after every operation, and it follows min(lastAccess + idle, deadline)', async () => {
    const idleMs = 2_000;
    const { store } = await open({ idleMs, touchAfterMs: 50, maxSessionsPerUser: 2 });
    const user = newUserId();
    const now = Date.now();
    const a = newSession({ userId: user, createdAt: now, absoluteDeadline: now + 60_000 });
    const b = newSession({ userId: user, createdAt: now + 1, absoluteDeadline: now + 60_001 });
    const guest = newSession({ createdAt: now + 2, absoluteDeadline: now + 60_002 });
    const short = newSession({ createdAt: now + 3, absoluteDeadline: now + 1_500 });
    const guestTo = newTarget({ userId: user });
    const bTo = newTarget({ userId: user });

    const steps: Array<[string, () => Promise<unknown>]> = [
      ['create a', () => store.create(a)],
      ['create b', () => store.create(b)],
      ['create guest', () => store.create(guest)],
      ['find a (touch)', async () => (await sleep(60), store.find(a.storeId))],
      ['find a (no touch)', () => store.find(a.storeId)],
      ['commit a', async () => (await sleep(60), store.commit(a.storeId, delta({ x: '"text"' }, ['cart'])))],
      ['increment a', async () => (await sleep(60), store.increment(a.storeId, 'n', 3))],
      ['too-large commit', () => store.commit(a.storeId, delta({ big: `"${'x'.repeat(5000)}"` }))],
      ['not-an-integer', () => store.increment(a.storeId, 'x', 1)],
      ['rotate guest to user (evicts a)', () => store.rotate(guest.storeId, guestTo, delta({ u: '1' }))],
      ['rotate b within the user', () => store.rotate(b.storeId, bTo, delta())],
      ['create short (deadline < idle)', () => store.create(short)],
      ['find short', async () => (await sleep(60), store.find(short.storeId))],
      ['commit short', () => store.commit(short.storeId, delta({ y: '2' }))],
      ['listForUser', () => store.listForUser(user)],
      ['destroyByHandle', () => store.destroyByHandle(user, guestTo.handle)],
      ['commit on destroyed', () => store.commit(guestTo.storeId, delta({ z: '1' }))],
      ['increment on destroyed', () => store.increment(guestTo.storeId, 'n', 1)],
      ['destroyAllForUser except bTo', () => store.destroyAllForUser(user, bTo.handle)],
      ['destroy short', () => store.destroy(short.storeId)],
    ];
    for (const [name, step] of steps) {
      await step();
      try {
        await expectEveryKeyToExpire(idleMs);
      } catch (error) {
        throw new Error(`after "${name}": ${(error as Error).message}`);
      }
    }

    // No write left a partial hash behind for a destroyed session (tombstones aside), and the index lists only bTo.
    const keys = (await allKeysAndValues(admin)).map((e) => e.key);
    const live = [];
    for (const key of keys) if (!(await isGone(key))) live.push(key);
    expect(live.sort()).toEqual(
      [sessionKey(PREFIX, bTo.storeId), userIndexKey(PREFIX, user), userRevokedKey(PREFIX, user)].sort(),
    );
    expect(await admin.zrange(userIndexKey(PREFIX, user), 0, '-1')).toEqual([indexMember(bTo.handle, bTo.storeId)]);
  });

  it('the session key never outlives its absolute deadline, however recently it was used', async () => {
    const { store } = await open({ idleMs: 10_000, touchAfterMs: 0 });
    const session = newSession({ absoluteDeadline: Date.now() + 700 });
    await store.create(session);
    const key = sessionKey(PREFIX, session.storeId);

    expect(await admin.pexpiretime(key)).toBe(session.absoluteDeadline);
    await sleep(300);
    await store.find(session.storeId);
    await store.commit(session.storeId, delta({ a: '1' }));
    expect(await admin.pexpiretime(key)).toBe(session.absoluteDeadline);

    await sleep(500);
    expect(await admin.exists(key)).toBe(0);
  });

  it('a find within touchAfter writes nothing; after touchAfter it writes once', async () => {
    const { store } = await open({ touchAfterMs: 10_000 });
    const session = newSession();
    await store.create(session);
    const key = sessionKey(PREFIX, session.storeId);
    const expiresAt = await admin.pexpiretime(key);
    const lastAccess = await admin.hget(key, META.lastAccess);
    await sleep(5);

    const before = await commandCalls();
    for (let i = 0; i < 3; i++) expect(await store.find(session.storeId)).not.toBeNull();
    const after = await commandCalls();

    expect(writesBetween(before, after)).toEqual({});
    expect(await admin.pexpiretime(key)).toBe(expiresAt);
    expect(await admin.hget(key, META.lastAccess)).toBe(lastAccess);

    // The same session read by a store whose touchAfter has passed: one touch (field + expiry).
    const { store: eager } = await open({ touchAfterMs: 0 });
    const beforeTouch = await commandCalls();
    const touched = await eager.find(session.storeId);
    const afterTouch = await commandCalls();

    expect(writesBetween(beforeTouch, afterTouch)).toEqual({ hset: 1, pexpireat: 1 });
    expect(touched?.lastAccessAt).toBeGreaterThan(Number(lastAccess));
    expect(await admin.pexpiretime(key)).toBe((touched?.lastAccessAt ?? 0) + base.idleMs);
  });

  it('rotation with a grace retires the old key: TTL cut to the grace, never touched, unindexed, named by the new key', async () => {
    const { store } = await open({ rotationGraceMs: 2_000, touchAfterMs: 0 });
    const user = newUserId();
    const old = newSession({ userId: user });
    await store.create(old);
    const to = newTarget({ userId: user });
    const before = Date.now();

    expect(await store.rotate(old.storeId, to, delta())).toEqual({ evicted: [] });
    const after = Date.now();

    const oldKey = sessionKey(PREFIX, old.storeId);
    const graceEnd = Number(await admin.hget(oldKey, META.retiredUntil));
    expect(graceEnd).toBeGreaterThanOrEqual(before + 2_000);
    expect(graceEnd).toBeLessThanOrEqual(after + 2_000);
    expect(await admin.pexpiretime(oldKey)).toBe(graceEnd);
    expect(await admin.hget(sessionKey(PREFIX, to.storeId), META.previous)).toBe(old.storeId);
    expect(await admin.zrange(userIndexKey(PREFIX, user), 0, '-1')).toEqual([indexMember(to.handle, to.storeId)]);

    // A touch is due on every read (touchAfterMs 0), yet reading the retired key writes nothing.
    const lastAccess = await admin.hget(oldKey, META.lastAccess);
    const calls = await commandCalls();
    expect((await store.find(old.storeId))?.retiredUntil).toBe(graceEnd);
    expect(writesBetween(calls, await commandCalls())).toEqual({});
    expect(await admin.hget(oldKey, META.lastAccess)).toBe(lastAccess);
    expect(await admin.pexpiretime(oldKey)).toBe(graceEnd);

    // Ending the new session deletes the retired one too.
    expect(await store.destroy(to.storeId)).toBe(true);
    expect(await admin.exists(oldKey)).toBe(0);
    expect(await isGone(sessionKey(PREFIX, to.storeId))).toBe(true);
  });

  describe('a write to the old session while it rotates (between the rotation reading it and retiring it)', () => {
    /**
     * Runs `write` at the rotation's second step (creating the new session), after the old one was
     * read: the one moment a concurrent request can reach Redis in between, made deterministic.
     */
    function interleave(store: RedisSessionStore, write: () => Promise<unknown>): Promise<unknown> {
      const runner = store as unknown as { run(name: string, ...args: unknown[]): Promise<unknown> };
      const run = runner.run.bind(store);
      let result: Promise<unknown> | null = null;
      jest.spyOn(runner, 'run').mockImplementation(async (name: string, ...args: unknown[]) => {
        if (name === 'sessionCreate' && !result) {
          result = write();
          await result;
        }
        return run(name, ...args);
      });
      return new Promise((resolve) => setImmediate(() => resolve(result)));
    }

    it.each([2_000, 0])('is refused, never acknowledged and then lost (rotationGraceMs %d)', async (rotationGraceMs) => {
      const { store } = await open({ rotationGraceMs });
      const user = newUserId();
      const old = newSession({ userId: user, data: new Map([['cart', '1']]) });
      await store.create(old);
      const to = newTarget({ userId: user });
      let written: unknown;
      const racing = interleave(store, async () => (written = await store.commit(old.storeId, delta({ cart: '2' }))));

      expect(await store.rotate(old.storeId, to, delta({ seen: 'yes' }))).toEqual({ evicted: [] });
      await racing;
      jest.restoreAllMocks();

      // Acknowledged means kept: a write that answered 'ok' must be in the session the user goes on with.
      const next = await store.find(to.storeId);
      expect(next?.data.get('seen')).toBe('yes');
      if (written === 'ok') expect(next?.data.get('cart')).toBe('2');
      else expect({ written, cart: next?.data.get('cart') }).toEqual({ written: 'replaced', cart: '1' });
    });

    it('an increment in that moment is refused too, and a failed rotation gives the session back', async () => {
      const { store } = await open({ rotationGraceMs: 2_000 });
      const old = newSession({ data: new Map([['n', '1']]) });
      await store.create(old);
      let counted: unknown;
      // The rotation fails at its second step (an id collision: the target key exists already).
      const taken = newTarget();
      await admin.hset(sessionKey(PREFIX, taken.storeId), 'x', '1');
      const racing = interleave(store, async () => (counted = await store.increment(old.storeId, 'n', 1)));
      await expect(store.rotate(old.storeId, taken, delta())).rejects.toThrow(SessionStoreUnavailableError);
      await racing;
      jest.restoreAllMocks();
      expect(counted).toBe('replaced');
      // Thawed: the old session is writable again and was never retired for good.
      expect(await admin.hexists(sessionKey(PREFIX, old.storeId), META.retiredUntil)).toBe(0);
      expect(await store.increment(old.storeId, 'n', 1)).toBe(2);
    });
  });

  it('creates, writes and rotates a session of 5,000 keys (beyond what one Lua unpack() can pass)', async () => {
    const { store } = await open({ maxDataBytes: 1024 * 1024, rotationGraceMs: 1_000 });
    const many = (n: number, value: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));
    const session = newSession({ data: new Map(Object.entries(many(5_000, '1'))) });
    await store.create(session);
    expect(await store.commit(session.storeId, delta(many(5_000, '2'), ['cart']))).toBe('ok');
    const to = newTarget();
    expect(await store.rotate(session.storeId, to, delta())).toEqual({ evicted: [] });
    const rotated = await store.find(to.storeId);
    expect(rotated?.data.size).toBe(5_000);
    expect(rotated?.data.get('k4999')).toBe('2');
    expect(await store.commit(to.storeId, delta({}, Object.keys(many(5_000, ''))))).toBe('ok');
    expect((await store.find(to.storeId))?.data.size).toBe(0);
  });

  /** The store's private steps that the tests below make fail. */
  interface Faults {
    run(name: string, ...args: unknown[]): Promise<unknown>;
    revokedSince(...args: unknown[]): Promise<boolean>;
    unlink(...args: unknown[]): Promise<void>;
  }
  const noReply = () => new SessionStoreUnavailableError(new Error('no reply'));

  /**
   * Makes the script `failing` fail, the first `times` calls (every call by default): before it
   * reaches Redis, or after it ran there (its reply lost). `calls` counts every call of it.
   */
  function failScript(store: RedisSessionStore, failing: string, when: 'before' | 'after', times = Infinity): { calls: number } {
    const faults = store as unknown as Faults;
    const run = faults.run.bind(store);
    const seen = { calls: 0 };
    jest.spyOn(faults, 'run').mockImplementation(async (name: string, ...args: unknown[]) => {
      if (name !== failing || seen.calls++ >= times) return run(name, ...args);
      if (when === 'after') await run(name, ...args);
      throw noReply();
    });
    return seen;
  }

  /**
   * Makes the script `resent` run twice on its first call, the caller getting the second reply: what
   * ioredis does when a dropped connection lost the first reply (it re-sends what was unanswered).
   */
  function resendScript(store: RedisSessionStore, resent: string): void {
    const faults = store as unknown as Faults;
    const run = faults.run.bind(store);
    let done = false;
    jest.spyOn(faults, 'run').mockImplementation(async (name: string, ...args: unknown[]) => {
      if (name !== resent || done) return run(name, ...args);
      done = true;
      await run(name, ...args);
      return run(name, ...args);
    });
  }

  /** A rotation rolled back: the old session neither retired nor frozen (it takes a write), and no new session left. */
  async function expectRolledBack(store: RedisSessionStore, oldStoreId: string, newStoreId: string): Promise<void> {
    expect(await admin.hexists(sessionKey(PREFIX, oldStoreId), META.retiredUntil)).toBe(0);
    expect(await store.commit(oldStoreId, delta({ after: '1' }))).toBe('ok');
    expect(await isGone(sessionKey(PREFIX, newStoreId))).toBe(true);
  }

  it.each([
    ['the freeze ran but its reply was lost (a command timeout)', 'sessionFreeze'],
    ['indexing the new session failed', 'userIndexAdd'],
  ])('a rotation that fails after %s gives the old session back and leaves no new one', async (_label, failing) => {
    const { store } = await open({ rotationGraceMs: 2_000 });
    const user = newUserId();
    const old = newSession({ userId: user });
    await store.create(old);
    failScript(store, failing, 'after');
    const to = newTarget({ userId: user });
    await expect(store.rotate(old.storeId, to, delta())).rejects.toThrow(SessionStoreUnavailableError);
    jest.restoreAllMocks();
    await expectRolledBack(store, old.storeId, to.storeId);
    expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([old.handle]);
  });

  it('a sign-in rotation whose eviction of a session over the limit fails gives the old session back and leaves no new one', async () => {
    const { store } = await open({ rotationGraceMs: 2_000, maxSessionsPerUser: 1 });
    const user = newUserId();
    const elsewhere = newSession({ userId: user });
    await store.create(elsewhere);
    const guest = newSession({ data: new Map([['cart', '1']]) });
    await store.create(guest);
    // The first delete is the evicted session's; the rollback's own delete must get through.
    const destroys = failScript(store, 'sessionDestroy', 'after', 1);
    const to = newTarget({ userId: user });
    await expect(store.rotate(guest.storeId, to, delta())).rejects.toThrow(SessionStoreUnavailableError);
    jest.restoreAllMocks();
    expect(destroys.calls).toBe(2);
    // The visitor is still signed in as before (not retired), and no session exists that no client holds.
    await expectRolledBack(store, guest.storeId, to.storeId);
  });

  const withExpiryEvents = { expiryEvents: { intervalMs: 60_000, batchSize: 100, shards: 1 } };
  const inDeadlineSet = async (storeId: string) => (await admin.zscore(deadlineKey(PREFIX, 0), storeId)) !== null;

  describe('a sign-in over maxSessionsPerUser', () => {
    it.each([
      ['reading the "sign out everywhere" mark', 'revokedSince'],
      ['deleting the evicted session (before the delete ran)', 'sessionDestroy'],
    ])('when %s fails, the session it would evict is still alive, listed and revocable', async (_label, failing) => {
      const { store } = await open({ maxSessionsPerUser: 1 });
      const user = newUserId();
      const first = newSession({ userId: user });
      await store.create(first);
      if (failing === 'revokedSince') jest.spyOn(store as unknown as Faults, 'revokedSince').mockRejectedValueOnce(noReply());
      else failScript(store, failing, 'before');
      const second = newSession({ userId: user, notRevokedSince: Date.now() });

      await expect(store.create(second)).rejects.toThrow(SessionStoreUnavailableError);
      jest.restoreAllMocks();

      expect(await store.find(first.storeId)).not.toBeNull();
      expect((await store.listForUser(user)).map((i) => i.handle).sort()).toEqual([first.handle, second.handle].sort());
      expect(await store.destroyAllForUser(user)).toBe(2);
      expect(await store.find(first.storeId)).toBeNull();
    });

    /** A user at maxSessionsPerUser 1 with one session (`first`), and a guest session about to sign in as that user. */
    async function guestSigningInOverLimit(rotationGraceMs: number) {
      const { store } = await open({ maxSessionsPerUser: 1, rotationGraceMs });
      const user = newUserId();
      const first = newSession({ userId: user });
      await store.create(first);
      const guest = newSession({ data: new Map([['cart', '1']]) });
      await store.create(guest);
      return { store, user, first, guest };
    }

    it.each([2_000, 0])('rotating a guest session in, overtaken by a logout of that session after it evicted (rotationGraceMs %d): refused, and the eviction reported with the refusal', async (rotationGraceMs) => {
      const { store, user, first, guest } = await guestSigningInOverLimit(rotationGraceMs);
      const faults = store as unknown as Faults;
      const run = faults.run.bind(store);
      jest.spyOn(faults, 'run').mockImplementation(async (name: string, ...args: unknown[]) => {
        if (name === 'sessionRetire') expect(await store.destroy(guest.storeId)).toBe(true);
        return run(name, ...args);
      });
      const to = newTarget({ userId: user });

      expect(await store.rotate(guest.storeId, to, delta())).toEqual({ refused: 'gone', evicted: [first.handle] });
      jest.restoreAllMocks();

      expect(await store.find(first.storeId)).toBeNull();
      expect(await isGone(sessionKey(PREFIX, to.storeId))).toBe(true);
      expect(await admin.zrange(userIndexKey(PREFIX, user), 0, '-1')).toEqual([]);
    });

    it.each([2_000, 0])('rotating a guest session in, whose retire fails before it runs after it evicted (rotationGraceMs %d): unavailable, the guest session given back, and the eviction carried with the failure', async (rotationGraceMs) => {
      const { store, user, first, guest } = await guestSigningInOverLimit(rotationGraceMs);
      failScript(store, 'sessionRetire', 'before');
      const to = newTarget({ userId: user });

      const failure = await store.rotate(guest.storeId, to, delta()).then(
        () => null,
        (error: unknown) => error,
      );
      jest.restoreAllMocks();

      expect(failure).toBeInstanceOf(SessionStoreUnavailableError);
      expect(evictedBefore(failure)).toEqual([first.handle]);
      expect(await store.find(first.storeId)).toBeNull();
      expect((await store.find(guest.storeId))?.data.get('cart')).toBe('1');
      expect(await isGone(sessionKey(PREFIX, to.storeId))).toBe(true);
    });

    it('whose index step is re-sent (ioredis, after its first reply was lost) still evicts the oldest session', async () => {
      const { store } = await open({ maxSessionsPerUser: 1 });
      const user = newUserId();
      const first = newSession({ userId: user });
      await store.create(first);
      const faults = store as unknown as Faults;
      const run = faults.run.bind(store);
      jest.spyOn(faults, 'run').mockImplementation(async (name: string, ...args: unknown[]) => {
        if (name === 'userIndexAdd') await run(name, ...args);
        return run(name, ...args);
      });
      const second = newSession({ userId: user });

      expect(await store.create(second)).toEqual({ evicted: [first.handle] });
      jest.restoreAllMocks();

      expect(await store.find(first.storeId)).toBeNull();
      expect(await admin.zrange(userIndexKey(PREFIX, user), 0, '-1')).toEqual([indexMember(second.handle, second.storeId)]);
    });
  });

  describe('a rotation whose retire step fails', () => {
    it.each([2_000, 0])('after it ran (its reply lost; rotationGraceMs %d): the rotation is complete, not undone (without a grace, its tombstone tells)', async (rotationGraceMs) => {
      const { store } = await open({ rotationGraceMs });
      const user = newUserId();
      const old = newSession({ userId: user });
      await store.create(old);
      failScript(store, 'sessionRetire', 'after');
      const to = newTarget({ userId: user });

      expect(await store.rotate(old.storeId, to, delta({ seen: 'yes' }))).toEqual({ evicted: [] });
      jest.restoreAllMocks();

      expect((await store.find(to.storeId))?.data.get('seen')).toBe('yes');
      if (rotationGraceMs > 0) expect(await admin.hexists(sessionKey(PREFIX, old.storeId), META.retiredUntil)).toBe(1);
      else expect(await isGone(sessionKey(PREFIX, old.storeId))).toBe(true);
      // The index itself, not listForUser, which would prune a dead entry on the way.
      expect(await admin.zrange(userIndexKey(PREFIX, user), 0, '-1')).toEqual([indexMember(to.handle, to.storeId)]);
    });

    it('re-sent without a grace (ioredis, after the first reply was lost): the re-send finds its own delete', async () => {
      const { store } = await open({ rotationGraceMs: 0 });
      const user = newUserId();
      const old = newSession({ userId: user });
      await store.create(old);
      resendScript(store, 'sessionRetire');
      const to = newTarget({ userId: user });

      expect(await store.rotate(old.storeId, to, delta())).toEqual({ evicted: [] });
      jest.restoreAllMocks();

      expect(await store.find(old.storeId)).toBeNull();
      // The index itself, not listForUser, which would prune a dead entry on the way.
      expect(await admin.zrange(userIndexKey(PREFIX, user), 0, '-1')).toEqual([indexMember(to.handle, to.storeId)]);
    });

    it.each([2_000, 0])('after a logout ended the old session meanwhile (the reply lost; rotationGraceMs %d): the new session does not outlive it', async (rotationGraceMs) => {
      const { store } = await open({ rotationGraceMs });
      const user = newUserId();
      const old = newSession({ userId: user });
      await store.create(old);
      const faults = store as unknown as Faults;
      const run = faults.run.bind(store);
      jest.spyOn(faults, 'run').mockImplementation(async (name: string, ...args: unknown[]) => {
        if (name !== 'sessionRetire') return run(name, ...args);
        expect(await store.destroy(old.storeId)).toBe(true);
        await run(name, ...args);
        throw noReply();
      });
      const to = newTarget({ userId: user });

      await expect(store.rotate(old.storeId, to, delta())).rejects.toThrow(SessionStoreUnavailableError);
      jest.restoreAllMocks();

      expect(await isGone(sessionKey(PREFIX, to.storeId))).toBe(true);
      expect(await admin.zrange(userIndexKey(PREFIX, user), 0, '-1')).toEqual([]);
    });

    it.each([2_000, 0])('before it ran (rotationGraceMs %d): rolled back, the old session writable and its expiry still tracked', async (rotationGraceMs) => {
      const { store } = await open({ rotationGraceMs, ...withExpiryEvents });
      const user = newUserId();
      const old = newSession({ userId: user });
      await store.create(old);
      failScript(store, 'sessionRetire', 'before');
      const to = newTarget({ userId: user });

      await expect(store.rotate(old.storeId, to, delta())).rejects.toThrow(SessionStoreUnavailableError);
      jest.restoreAllMocks();

      await expectRolledBack(store, old.storeId, to.storeId);
      expect(await inDeadlineSet(old.storeId)).toBe(true);
      expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([old.handle]);
    });

    it.each([2_000, 0])('the unlink after it failing (rotationGraceMs %d) does not undo the rotation', async (rotationGraceMs) => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
      const { store } = await open({ rotationGraceMs });
      const user = newUserId();
      const old = newSession({ userId: user });
      await store.create(old);
      jest.spyOn(store as unknown as Faults, 'unlink').mockRejectedValueOnce(noReply());
      const to = newTarget({ userId: user });

      expect(await store.rotate(old.storeId, to, delta())).toEqual({ evicted: [] });
      jest.restoreAllMocks();

      expect(warn).toHaveBeenCalledTimes(1);
      expect(await store.find(to.storeId)).not.toBeNull();
      if (rotationGraceMs > 0) expect(await admin.hexists(sessionKey(PREFIX, old.storeId), META.retiredUntil)).toBe(1);
      else expect(await isGone(sessionKey(PREFIX, old.storeId))).toBe(true);
    });
  });

  /** A signed-in session (`old`) rotated to `to` with a 5 s grace: `old` is retired, `to` names it as its predecessor. */
  async function rotatedWithGrace() {
    const { store } = await open({ rotationGraceMs: 5_000 });
    const user = newUserId();
    const old = newSession({ userId: user });
    await store.create(old);
    const to = newTarget({ userId: user });
    expect(await store.rotate(old.storeId, to, delta())).toEqual({ evicted: [] });
    return { store, user, old, to };
  }

  it('a delete re-sent after its reply was lost (ioredis) gets its first answer: unlinked, its retired predecessor deleted; another delete finds nothing', async () => {
    const { store, user, old, to } = await rotatedWithGrace();
    resendScript(store, 'sessionDestroy');

    expect(await store.destroy(to.storeId)).toBe(true);
    jest.restoreAllMocks();

    expect(await admin.zrange(userIndexKey(PREFIX, user), 0, '-1')).toEqual([]);
    // The retired predecessor ends with it, not when its grace would have.
    expect(await admin.exists(sessionKey(PREFIX, old.storeId))).toBe(0);
    expect(await store.find(to.storeId)).toBeNull();
    expect(await store.destroy(to.storeId)).toBe(false);
    // Nothing writes to a tombstone, nor takes it for a session.
    expect(await store.commit(to.storeId, delta({ a: '1' }))).toBe('gone');
    expect(await store.increment(to.storeId, 'n', 1)).toBe('gone');
    expect(await store.rotate(to.storeId, newTarget({ userId: user }), delta())).toBe('gone');
    expect(await isGone(sessionKey(PREFIX, to.storeId))).toBe(true);
  });

  it("a logout of a retired session's own credential leaves its tombstone when its successor is deleted later: a re-send of that logout still finds it", async () => {
    const { store, user, old, to } = await rotatedWithGrace();
    expect(await store.destroy(old.storeId)).toBe(true);
    const tombstone = await admin.hget(sessionKey(PREFIX, old.storeId), META.gone);
    expect(tombstone).not.toBeNull();

    // The successor's delete would delete the predecessor it retired: not the tombstone left there.
    expect(await store.destroy(to.storeId)).toBe(true);

    expect(await admin.hget(sessionKey(PREFIX, old.storeId), META.gone)).toBe(tombstone);
    expect(await isGone(sessionKey(PREFIX, to.storeId))).toBe(true);
  });

  it('a delete that fails before it ran leaves the session in the deadline set (expiryEvents)', async () => {
    const { store } = await open(withExpiryEvents);
    const session = newSession({ userId: newUserId() });
    await store.create(session);
    expect(await inDeadlineSet(session.storeId)).toBe(true);
    failScript(store, 'sessionDestroy', 'before');

    await expect(store.destroy(session.storeId)).rejects.toThrow(SessionStoreUnavailableError);
    jest.restoreAllMocks();

    expect(await store.find(session.storeId)).not.toBeNull();
    expect(await inDeadlineSet(session.storeId)).toBe(true);
    // A delete that ran (its reply lost) does not put it back: it would be reported as expired.
    failScript(store, 'sessionDestroy', 'after');
    await expect(store.destroy(session.storeId)).rejects.toThrow(SessionStoreUnavailableError);
    jest.restoreAllMocks();
    expect(await inDeadlineSet(session.storeId)).toBe(false);
  });

  it('a rotation step re-sent after a dropped connection (ioredis re-sends what was unanswered) finds its own work done', async () => {
    const { store } = await open({ rotationGraceMs: 2_000 });
    const runner = store as unknown as { run(name: string, key: string, ...args: Array<string | number>): Promise<unknown> };
    const user = newUserId();
    const old = newSession({ userId: user });
    await store.create(old);
    const oldKey = sessionKey(PREFIX, old.storeId);
    const now = Date.now();
    const frozenUntil = String(now + 2_000);
    const twice = async (name: string, key: string, ...args: Array<string | number>) => [await runner.run(name, key, ...args), await runner.run(name, key, ...args)];

    const [frozen, frozenAgain] = await twice('sessionFreeze', oldKey, now, base.idleMs, frozenUntil);
    expect(typeof frozen).toBe('string');
    // The same fields, now with the freeze among them.
    expect(JSON.parse(frozenAgain as string)).toEqual([...(JSON.parse(frozen as string) as string[]), META.retiredUntil, frozenUntil]);
    // Another rotation's freeze is still refused.
    expect(await runner.run('sessionFreeze', oldKey, now, base.idleMs, String(now + 3_000))).toBe(0);

    const to = newTarget({ userId: user });
    const fields = [META.version, '1', META.created, String(now), META.lastAccess, String(now), META.deadline, String(old.absoluteDeadline), META.handle, to.handle, META.size, '0', META.strategy, 'session-id'];
    expect(await twice('sessionCreate', sessionKey(PREFIX, to.storeId), now, base.idleMs, old.absoluteDeadline, ...fields)).toEqual([1, 1]);
    // A different session on a taken id is still a collision.
    const clash = fields.map((f) => (f === to.handle ? 'another-handle-000000' : f));
    expect(await runner.run('sessionCreate', sessionKey(PREFIX, to.storeId), now, base.idleMs, old.absoluteDeadline, ...clash)).toBe(0);

    const [retired, retiredAgain] = await twice('sessionRetire', oldKey, now, base.idleMs, frozenUntil, now + 2_000);
    expect(retired).toEqual([user, old.handle, '']);
    expect(retiredAgain).toEqual(retired);
  });

  it('an increment re-sent after a rotation froze the session gets the answer its first send had, not a 409', async () => {
    const { store } = await open({ rotationGraceMs: 2_000 });
    const runner = store as unknown as { run(name: string, key: string, ...args: Array<string | number>): Promise<unknown> };
    const session = newSession({ data: new Map([['n', '1']]) });
    await store.create(session);
    const key = sessionKey(PREFIX, session.storeId);
    const increment = () => runner.run('sessionIncrement', key, Date.now(), base.idleMs, base.maxDataBytes, dataField('n'), 1, 'op-resent-0001');
    expect(await increment()).toEqual([1, '2']);
    const to = newTarget();
    expect(await store.rotate(session.storeId, to, delta())).toEqual({ evicted: [] });
    // The re-send of the same op: its value, which the new session holds too.
    expect(await increment()).toEqual([1, '2']);
    expect((await store.find(to.storeId))?.data.get('n')).toBe('2');
    // A new increment on the retired session is still refused.
    expect(await runner.run('sessionIncrement', key, Date.now(), base.idleMs, base.maxDataBytes, dataField('n'), 1, 'op-new-000002')).toEqual([-3]);
  });

  it('find is one round trip: a single EVALSHA, with or without a touch', async () => {
    const { store, client } = await open({ touchAfterMs: 0 });
    const session = newSession({ userId: newUserId() });
    await store.create(session);
    await store.find(session.storeId); // the first use of a script on a connection sends EVAL

    const sent = jest.spyOn(client, 'sendCommand');
    try {
      for (const storeId of [session.storeId, newSession().storeId]) {
        sent.mockClear();
        const before = await commandCalls();
        await store.find(storeId);
        const after = await commandCalls();

        expect(sent.mock.calls.map(([command]) => (command as Command).name)).toEqual(['evalsha']);
        expect((after.evalsha ?? 0) - (before.evalsha ?? 0)).toBe(1);
        expect((after.eval ?? 0) - (before.eval ?? 0)).toBe(0);
      }
    } finally {
      sent.mockRestore();
    }
  });

  it('a corrupt data value does not make find throw; the other values are intact', async () => {
    const { store } = await open();
    const session = newSession({ data: new Map([['good', '{"ok":true}'], ['bad', '1']]) });
    await store.create(session);
    const key = sessionKey(PREFIX, session.storeId);
    await admin.hset(key, dataField('bad'), '{not json');
    await admin.hset(key, dataField('binary'), Buffer.from([0xff, 0xfe, 0x00, 0xc3]));

    const found = await store.find(session.storeId);

    expect(found?.data.get('good')).toBe('{"ok":true}');
    expect(found?.data.get('bad')).toBe('{not json');
    expect(typeof found?.data.get('binary')).toBe('string');
    expect(await store.commit(session.storeId, delta({ bad: '2' }))).toBe('ok');
    expect((await store.find(session.storeId))?.data.get('bad')).toBe('2');
  });

  it.each([
    ['an unknown format version', META.version, '0'],
    ['no handle', META.handle, null],
    ['no strategy', META.strategy, null],
    ['a non-numeric createdAt', META.created, 'yesterday'],
    ['a non-numeric last access', META.lastAccess, 'soon'],
    ['no deadline', META.deadline, null],
  ])('a session with %s is treated as absent, without an error', async (_, field, value) => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    try {
      const { store } = await open();
      const session = newSession();
      await store.create(session);
      const key = sessionKey(PREFIX, session.storeId);
      if (value === null) await admin.hdel(key, field);
      else await admin.hset(key, field, value);

      await expect(store.find(session.storeId)).resolves.toBeNull();
      await expect(store.rotate(session.storeId, newTarget(), delta())).resolves.toBe('gone');
    } finally {
      warn.mockRestore();
    }
  });

  it('keeps working after SCRIPT FLUSH (NOSCRIPT falls back to EVAL)', async () => {
    const { store } = await open({ maxSessionsPerUser: 5 });
    const user = newUserId();
    const session = newSession({ userId: user });
    await store.create(session);
    expect(await store.find(session.storeId)).not.toBeNull();

    expect(await admin.script('FLUSH')).toBe('OK');

    expect(await store.find(session.storeId)).not.toBeNull();
    expect(await store.commit(session.storeId, delta({ a: '1' }))).toBe('ok');
    expect(await store.increment(session.storeId, 'n', 2)).toBe(2);
    const other = newSession({ userId: user });
    expect(await store.create(other)).toEqual({ evicted: [] });
    expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([session.handle, other.handle]);
    expect(await store.destroy(other.storeId)).toBe(true);
    expect((await store.find(session.storeId))?.data.get('a')).toBe('1');
  });

  describe('batchWrites', () => {
    const READS = 200;
    /** Read events Redis processed (INFO stats): a batch written in one writev arrives as one read. */
    const readsProcessed = async () => Number(/^total_reads_processed:(\d+)/m.exec(await admin.info('stats'))?.[1]);

    async function concurrentReads(store: RedisSessionStore, client: Redis): Promise<{ reads: number; corkedInTurn: number }> {
      const sessions = Array.from({ length: 20 }, () => newSession({ data: new Map([['n', '1']]) }));
      for (const session of sessions) await store.create(session);
      const before = await readsProcessed();
      const finds = Array.from({ length: READS }, (_, i) => store.find(sessions[i % sessions.length].storeId));
      const corkedInTurn = client.stream.writableCorked;
      const found = await Promise.all(finds);
      const reads = (await readsProcessed()) - before - 1; // minus the INFO that reads the counter
      expect(found.map((f) => f?.storeId)).toEqual(Array.from({ length: READS }, (_, i) => sessions[i % sessions.length].storeId));
      return { reads, corkedInTurn };
    }

    it('on (the default): the commands of one event-loop turn reach Redis in one write', async () => {
      const { store, client } = await open();
      const { reads, corkedInTurn } = await concurrentReads(store, client);
      expect(corkedInTurn).toBe(1);
      expect(reads).toBeLessThanOrEqual(2);
      // Released at the end of the turn: a command issued later is not held back.
      expect(client.stream.writableCorked).toBe(0);
    });

    // setImmediate would then wait for the test to advance the clock, and every command with it.
    it.each(['modern', 'legacy'] as const)('under jest.useFakeTimers (%s) commands go out at once, unbatched', async (kind) => {
      const { store, client } = await open();
      const session = newSession();
      await store.create(session);
      jest.useFakeTimers({ legacyFakeTimers: kind === 'legacy' });
      try {
        const found = store.find(session.storeId);
        expect(client.stream.writableCorked).toBe(0);
        expect((await found)?.storeId).toBe(session.storeId);
      } finally {
        jest.useRealTimers();
      }
    });

    it('off: each command is written on its own, at once', async () => {
      const { store, client } = await open({ batchWrites: false });
      const { reads, corkedInTurn } = await concurrentReads(store, client);
      expect(corkedInTurn).toBe(0);
      process.stdout.write(`batchWrites false: ${READS} concurrent reads reached Redis in ${reads} reads\n`);
    });
  });
});

describe('RedisSessionStore when Redis is down', () => {
  it('rejects with SessionStoreUnavailableError within ~1.5 s, and recovers after a restart', async () => {
    const settings: StoreSettings = {
      keyPrefix: 'down:',
      idleMs: 60_000,
      touchAfterMs: 1_000,
      maxDataBytes: 4096,
      maxSessionsPerUser: null,
    };
    const { store, client, cleanup } = await openRedisStore(settings, { commandTimeout: 500, maxRetriesPerRequest: 1 });
    client.on('error', () => {}); // connection errors are the point of this test
    try {
      const session = newSession();
      await store.create(session);

      await server.kill9();

      for (const operation of [
        () => store.find(session.storeId),
        () => store.commit(session.storeId, delta({ a: '1' })),
        () => store.create(newSession()),
        () => store.listForUser('someone'),
      ]) {
        const started = Date.now();
        await expect(operation()).rejects.toThrow(SessionStoreUnavailableError);
        expect(Date.now() - started).toBeLessThan(1_500);
      }
      const started = Date.now();
      expect(await store.ping()).toBe(false);
      expect(Date.now() - started).toBeLessThan(1_500);

      await server.restart();
      const deadline = Date.now() + 5_000;
      while (!(await store.ping()) && Date.now() < deadline) await sleep(50);

      // A new, empty server: the old session is gone, and a new one works (scripts reloaded).
      expect(await store.find(session.storeId)).toBeNull();
      const fresh = newSession();
      await store.create(fresh);
      expect((await store.find(fresh.storeId))?.data).toEqual(fresh.data);
      expect(await admin.ping()).toBe('PONG');
    } finally {
      await cleanup();
    }
  });
});
