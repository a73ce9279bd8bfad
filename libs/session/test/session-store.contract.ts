/**
 * The SessionStore contract as one test suite, run identically against every store (see
 * `session-store.interface.ts`). Each test opens its own store, with its own settings and key
 * prefix, so no test sees another's sessions. Timing tests use real, short TTLs: no fake clock,
 * since Redis keeps its own time.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import { SessionDataTooLargeError, SessionGoneError } from '../src/session.errors.js';
import { dataBytes } from '../src/store/session-data.util.js';
import type {
  NewSession,
  RotationTarget,
  SessionDelta,
  SessionStore,
  StoreSettings,
} from '../src/store/session-store.interface.js';

/** A store under test and how to dispose of it (close clients, timers). */
export interface StoreUnderTest {
  store: SessionStore;
  cleanup(): Promise<void>;
}

export type MakeStore = (settings: StoreSettings) => Promise<StoreUnderTest>;

const HOUR_MS = 3_600_000;

/** Settings of the tests that are not about timing: nothing expires or slides by accident. */
const DEFAULTS: Omit<StoreSettings, 'keyPrefix'> = {
  idleMs: 10 * 60_000,
  touchAfterMs: 60_000,
  maxDataBytes: 4096,
  maxSessionsPerUser: null,
};

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A store id of the shape the strategies produce (base64url, 32 chars). */
export const newStoreId = (): string => randomBytes(24).toString('base64url');
/** A handle as the library makes them: 22 base64url chars. */
export const newHandle = (): string => randomBytes(16).toString('base64url');
export const newUserId = (): string => `user-${randomBytes(6).toString('hex')}`;

export function newSession(overrides: Partial<NewSession> = {}): NewSession {
  const now = Date.now();
  return {
    storeId: newStoreId(),
    handle: newHandle(),
    userId: null,
    createdAt: now,
    absoluteDeadline: now + HOUR_MS,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) jest',
    strategy: 'session-id',
    data: new Map([['cart', '{"items":[1,2]}']]),
    ...overrides,
  };
}

export function newTarget(overrides: Partial<RotationTarget> = {}): RotationTarget {
  return { storeId: newStoreId(), handle: newHandle(), userId: null, strategy: 'session-id', ...overrides };
}

export function delta(set: Record<string, string> = {}, remove: string[] = []): SessionDelta {
  return { set: new Map(Object.entries(set)), delete: new Set(remove) };
}

const data = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries));

export function describeSessionStoreContract(name: string, makeStore: MakeStore): void {
  describe(`${name} honours the SessionStore contract`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    let opened = 0;

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function open(overrides: Partial<StoreSettings> = {}): Promise<SessionStore> {
      const keyPrefix = `contract:${++opened}:${randomBytes(3).toString('hex')}:`;
      const { store, cleanup } = await makeStore({ keyPrefix, ...DEFAULTS, ...overrides });
      cleanups.push(cleanup);
      return store;
    }

    /** Sessions of one user with increasing createdAt and deadline, so "oldest" is unambiguous. */
    function sessionsOf(userId: string | null, count: number, base = Date.now()): NewSession[] {
      return Array.from({ length: count }, (_, i) =>
        newSession({ userId, createdAt: base + i * 10, absoluteDeadline: base + HOUR_MS + i * 10 }),
      );
    }

    describe('find and create', () => {
      it('find of an unknown id is null', async () => {
        const store = await open();
        expect(await store.find(newStoreId())).toBeNull();
      });

      it('create then find returns everything that was stored', async () => {
        const store = await open();
        const session = newSession({
          userId: 'user-1',
          strategy: 'hashed',
          createdAt: Date.now() - 1_000,
          data: data({ cart: '{"items":[1,2]}', name: '"Zoë 😀"', n: '41', nothing: 'null' }),
        });
        const before = Date.now();

        expect(await store.create(session)).toEqual({ evicted: [] });
        const found = await store.find(session.storeId);

        expect(found).toEqual({ ...session, lastAccessAt: expect.any(Number) });
        expect(found?.lastAccessAt).toBeGreaterThanOrEqual(before);
        expect(found?.lastAccessAt).toBeLessThanOrEqual(Date.now());
      });

      // Redis hands the read back as one JSON text (see LOAD_AND_TOUCH): what JSON escapes must come back as it went in.
      it('keys, values and the user agent come back character for character', async () => {
        const store = await open();
        const awkward = 'q"b\\s/t\tn\nnul\u0000del\u007fé€😀';
        const session = newSession({
          userAgent: `Mozilla/5.0 ${awkward} \u00ff`,
          data: data({ [awkward]: JSON.stringify(awkward), '[]': '[]', '{}': '{}', '': '""' }),
        });
        await store.create(session);

        expect(await store.find(session.storeId)).toEqual({ ...session, lastAccessAt: expect.any(Number) });
      });

      it('keeps a guest session without user agent or data', async () => {
        const store = await open();
        const session = newSession({ userId: null, userAgent: null, data: new Map() });
        await store.create(session);

        const found = await store.find(session.storeId);

        expect(found).toEqual({ ...session, lastAccessAt: expect.any(Number) });
      });

      it('find records the access at most once per touchAfter', async () => {
        const store = await open({ touchAfterMs: 150 });
        const session = newSession();
        await store.create(session);

        const first = await store.find(session.storeId);
        const second = await store.find(session.storeId);
        expect(second?.lastAccessAt).toBe(first?.lastAccessAt);

        await sleep(200);
        const third = await store.find(session.storeId);
        expect(third?.lastAccessAt).toBeGreaterThanOrEqual((first?.lastAccessAt ?? 0) + 150);
      });

      it('create over maxDataBytes throws SessionDataTooLargeError and stores nothing', async () => {
        const store = await open({ maxDataBytes: 100 });
        const session = newSession({ userId: 'user-big', data: data({ small: '1', blob: `"${'x'.repeat(200)}"` }) });

        await expect(store.create(session)).rejects.toThrow(SessionDataTooLargeError);
        await expect(store.create(session)).rejects.toMatchObject({ key: 'blob', limitBytes: 100 });
        expect(await store.find(session.storeId)).toBeNull();
        expect(await store.listForUser('user-big')).toEqual([]);
      });

      it('counts bytes (not characters) and accepts data exactly at maxDataBytes', async () => {
        const content = data({ name: '"ééé 😀"', n: '7' });
        const store = await open({ maxDataBytes: dataBytes(content) });
        const session = newSession({ data: content });

        await store.create(session);
        expect((await store.find(session.storeId))?.data).toEqual(content);
        await expect(store.create(newSession({ data: data({ name: '"éééé 😀"', n: '7' }) }))).rejects.toThrow(
          SessionDataTooLargeError,
        );
      });
    });

    describe('commit', () => {
      it('sets and deletes exactly the named keys and leaves the others alone', async () => {
        const store = await open();
        const session = newSession({ data: data({ a: '1', b: '"bee"', c: '[1,2,3]' }) });
        await store.create(session);

        expect(await store.commit(session.storeId, delta({ a: '2', d: '{"k":true}' }, ['b', 'never-set']))).toBe('ok');

        expect((await store.find(session.storeId))?.data).toEqual(data({ a: '2', c: '[1,2,3]', d: '{"k":true}' }));
      });

      it('an empty delta is ok and changes no data', async () => {
        const store = await open();
        const session = newSession();
        await store.create(session);

        expect(await store.commit(session.storeId, delta())).toBe('ok');

        expect((await store.find(session.storeId))?.data).toEqual(session.data);
      });

      it('concurrent commits that change different keys all survive', async () => {
        const store = await open();
        const session = newSession({ data: data({ keep: '"me"' }) });
        await store.create(session);

        const outcomes = await Promise.all([
          store.commit(session.storeId, delta({ left: '1' })),
          store.commit(session.storeId, delta({ right: '2' })),
          ...Array.from({ length: 18 }, (_, i) => store.commit(session.storeId, delta({ [`k${i}`]: String(i) }))),
        ]);

        expect(outcomes.every((o) => o === 'ok')).toBe(true);
        const stored = (await store.find(session.storeId))?.data;
        expect(stored?.get('keep')).toBe('"me"');
        expect(stored?.get('left')).toBe('1');
        expect(stored?.get('right')).toBe('2');
        expect(stored?.size).toBe(21);
      });

      it("on a destroyed or unknown session returns 'gone' and does not recreate it", async () => {
        const store = await open();
        const session = newSession({ userId: 'user-gone' });
        await store.create(session);
        await store.destroy(session.storeId);

        expect(await store.commit(session.storeId, delta({ a: '1' }))).toBe('gone');
        expect(await store.commit(session.storeId, delta())).toBe('gone');
        expect(await store.commit(newStoreId(), delta({ a: '1' }))).toBe('gone');

        expect(await store.find(session.storeId)).toBeNull();
        expect(await store.listForUser('user-gone')).toEqual([]);
      });

      it("over maxDataBytes returns 'too-large' and leaves the session exactly as it was", async () => {
        const store = await open({ maxDataBytes: 200 });
        const session = newSession({ userId: 'user-tl', data: data({ a: '1', b: `"${'b'.repeat(100)}"` }) });
        await store.create(session);
        const before = await store.find(session.storeId);

        expect(await store.commit(session.storeId, delta({ c: `"${'c'.repeat(100)}"` }, ['a']))).toBe('too-large');

        expect(await store.find(session.storeId)).toEqual(before);
      });

      it('measures the size after the whole delta: freeing space makes room', async () => {
        const content = data({ big: `"${'b'.repeat(100)}"`, n: '1' });
        const store = await open({ maxDataBytes: dataBytes(content) });
        const session = newSession({ data: content });
        await store.create(session);

        expect(await store.commit(session.storeId, delta({ other: `"${'o'.repeat(90)}"` }))).toBe('too-large');
        expect(await store.commit(session.storeId, delta({ big: `"${'é'.repeat(50)}"` }))).toBe('ok');
        expect(await store.commit(session.storeId, delta({ big: `"${'é'.repeat(51)}"` }))).toBe('too-large');
        expect(await store.commit(session.storeId, delta({ other: `"${'o'.repeat(98)}"` }, ['big']))).toBe('ok');

        expect((await store.find(session.storeId))?.data).toEqual(data({ n: '1', other: `"${'o'.repeat(98)}"` }));
      });
    });

    describe('increment', () => {
      it('is atomic: 50 concurrent increments by 1 give 50', async () => {
        const store = await open();
        const session = newSession();
        await store.create(session);

        const results = await Promise.all(Array.from({ length: 50 }, () => store.increment(session.storeId, 'hits', 1)));

        expect([...results].sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect((await store.find(session.storeId))?.data.get('hits')).toBe('50');
      });

      it('counts an absent key as 0 and accepts negative steps', async () => {
        const store = await open();
        const session = newSession();
        await store.create(session);

        expect(await store.increment(session.storeId, 'n', 5)).toBe(5);
        expect(await store.increment(session.storeId, 'n', -7)).toBe(-2);

        const stored = await store.find(session.storeId);
        expect(stored?.data).toEqual(new Map([...session.data, ['n', '-2']]));
      });

      it("returns 'not-an-integer' for a value that is not an integer and changes nothing", async () => {
        const store = await open();
        const session = newSession({ data: data({ name: '"bob"', half: '1.5', obj: '{"a":1}', quoted: '"7"' }) });
        await store.create(session);

        for (const key of ['name', 'half', 'obj', 'quoted']) {
          expect(await store.increment(session.storeId, key, 1)).toBe('not-an-integer');
        }

        expect((await store.find(session.storeId))?.data).toEqual(session.data);
      });

      it("returns 'gone' for a destroyed or unknown session and does not recreate it", async () => {
        const store = await open();
        const session = newSession();
        await store.create(session);
        await store.destroy(session.storeId);

        expect(await store.increment(session.storeId, 'n', 1)).toBe('gone');
        expect(await store.increment(newStoreId(), 'n', 1)).toBe('gone');
        expect(await store.find(session.storeId)).toBeNull();
      });

      // Redis adds in Lua numbers (doubles) and once printed them with %d, which wraps past 2^63.
      it("returns 'not-an-integer' beyond Number.MAX_SAFE_INTEGER, before or after adding, and changes nothing", async () => {
        const store = await open();
        const max = Number.MAX_SAFE_INTEGER;
        const session = newSession({
          data: data({ top: String(max - 1), bottom: String(1 - max), huge: '99999999999999999999999', wraps: String(2 ** 63) }),
        });
        await store.create(session);

        expect(await store.increment(session.storeId, 'top', 1)).toBe(max);
        expect(await store.increment(session.storeId, 'top', 1)).toBe('not-an-integer');
        expect(await store.increment(session.storeId, 'bottom', -1)).toBe(-max);
        expect(await store.increment(session.storeId, 'bottom', -1)).toBe('not-an-integer');
        // Even a step back towards the range: the stored value itself cannot be read exactly.
        expect(await store.increment(session.storeId, 'huge', -1)).toBe('not-an-integer');
        expect(await store.increment(session.storeId, 'wraps', 1)).toBe('not-an-integer');
        expect(await store.increment(session.storeId, 'fresh', 2 ** 53)).toBe('not-an-integer');
        expect(await store.increment(session.storeId, 'fresh', max)).toBe(max);

        expect((await store.find(session.storeId))?.data).toEqual(
          new Map([...session.data, ['top', String(max)], ['bottom', String(-max)], ['fresh', String(max)]]),
        );
      });

      it("returns 'too-large' when the new value would not fit, keeping the old value", async () => {
        const content = data({ n: '9' });
        const store = await open({ maxDataBytes: dataBytes(content) });
        const session = newSession({ data: content });
        await store.create(session);

        expect(await store.increment(session.storeId, 'n', -1)).toBe(8);
        expect(await store.increment(session.storeId, 'n', 2)).toBe('too-large');

        expect((await store.find(session.storeId))?.data).toEqual(data({ n: '8' }));
      });
    });

    describe('expiry', () => {
      const timing: Partial<StoreSettings> = { idleMs: 1_000, touchAfterMs: 100 };

      it('a session idle for longer than idleMs is gone, and nothing brings it back', async () => {
        const store = await open(timing);
        const session = newSession({ userId: 'user-idle' });
        await store.create(session);

        await sleep(500);
        expect(await store.find(session.storeId)).not.toBeNull();
        await sleep(1_300);

        expect(await store.find(session.storeId)).toBeNull();
        expect(await store.commit(session.storeId, delta({ a: '1' }))).toBe('gone');
        expect(await store.increment(session.storeId, 'n', 1)).toBe('gone');
        expect(await store.rotate(session.storeId, newTarget(), delta())).toBe('gone');
        expect(await store.destroy(session.storeId)).toBe(false);
        expect(await store.listForUser('user-idle')).toEqual([]);
        expect(await store.find(session.storeId)).toBeNull();
      });

      it('sliding: a session read every 400 ms outlives its 1 s idle timeout', async () => {
        const store = await open(timing);
        const session = newSession();
        await store.create(session);

        for (let i = 0; i < 6; i++) {
          await sleep(400);
          expect(await store.find(session.storeId)).not.toBeNull();
        }
      });

      it('writes slide the idle expiry too', async () => {
        const store = await open(timing);
        const session = newSession();
        await store.create(session);

        await sleep(600);
        expect(await store.commit(session.storeId, delta({ a: '1' }))).toBe('ok');
        await sleep(600);
        // 1.2 s after create: alive only because the commit slid the expiry.
        expect(await store.increment(session.storeId, 'n', 1)).toBe(1);
        await sleep(600);

        expect((await store.find(session.storeId))?.data).toEqual(data({ cart: '{"items":[1,2]}', a: '1', n: '1' }));
      });

      it('absolute: a session ends at its deadline even while in use', async () => {
        const store = await open({ idleMs: 10_000, touchAfterMs: 100 });
        const session = newSession({ absoluteDeadline: Date.now() + 1_500 });
        await store.create(session);

        for (let i = 0; i < 3; i++) {
          await sleep(400);
          expect(await store.find(session.storeId)).not.toBeNull();
          expect(await store.commit(session.storeId, delta({ [`k${i}`]: '1' }))).toBe('ok');
        }
        await sleep(500); // 1.7 s after create

        expect(await store.find(session.storeId)).toBeNull();
        expect(await store.commit(session.storeId, delta({ a: '1' }))).toBe('gone');
      });
    });

    describe('rotate', () => {
      it('moves the session to the new identity, keeping createdAt and the deadline', async () => {
        const store = await open();
        const old = newSession({
          userId: null,
          createdAt: Date.now() - 5_000,
          absoluteDeadline: Date.now() + HOUR_MS - 5_000,
          data: data({ cart: '[1]', csrf: '"abc"' }),
        });
        await store.create(old);
        const to = newTarget({ userId: 'user-rot', strategy: 'hashed' });

        expect(await store.rotate(old.storeId, to, delta({ uid: '"user-rot"' }, ['csrf']))).toEqual({ evicted: [] });

        expect(await store.find(old.storeId)).toBeNull();
        expect(await store.find(to.storeId)).toEqual({
          ...to,
          createdAt: old.createdAt,
          absoluteDeadline: old.absoluteDeadline,
          userAgent: old.userAgent,
          lastAccessAt: expect.any(Number),
          data: data({ cart: '[1]', uid: '"user-rot"' }),
        });
      });

      it("returns 'gone' when the source no longer exists, creating nothing", async () => {
        const store = await open();
        const old = newSession();
        await store.create(old);
        await store.rotate(old.storeId, newTarget(), delta());
        const again = newTarget();

        expect(await store.rotate(old.storeId, again, delta({ a: '1' }))).toBe('gone');
        expect(await store.rotate(newStoreId(), again, delta())).toBe('gone');
        expect(await store.find(again.storeId)).toBeNull();
      });

      it("returns 'too-large' when the delta does not fit, leaving the source untouched", async () => {
        const store = await open({ maxDataBytes: 100 });
        const old = newSession({ data: data({ a: '1' }) });
        await store.create(old);
        const to = newTarget();

        expect(await store.rotate(old.storeId, to, delta({ blob: `"${'x'.repeat(100)}"` }))).toBe('too-large');

        expect((await store.find(old.storeId))?.data).toEqual(old.data);
        expect(await store.find(to.storeId)).toBeNull();
      });
    });

    describe('destroy and the per-user index', () => {
      it('destroy returns true, then false', async () => {
        const store = await open();
        const session = newSession();
        await store.create(session);

        expect(await store.destroy(session.storeId)).toBe(true);
        expect(await store.destroy(session.storeId)).toBe(false);
        expect(await store.destroy(newStoreId())).toBe(false);
        expect(await store.find(session.storeId)).toBeNull();
      });

      it("listForUser lists only that user's live sessions, oldest first", async () => {
        const store = await open();
        const user = newUserId();
        const [s0, s1, s2] = sessionsOf(user, 3);
        for (const s of [s2, s0, s1]) await store.create(s);
        await store.create(newSession({ userId: newUserId() }));
        await store.create(newSession({ userId: null }));

        const listed = await store.listForUser(user);

        expect(listed.map((i) => i.handle)).toEqual([s0.handle, s1.handle, s2.handle]);
        expect(listed[0]).toEqual({
          handle: s0.handle,
          userId: user,
          createdAt: s0.createdAt,
          lastAccessAt: expect.any(Number),
          expiresAt: listed[0].lastAccessAt + DEFAULTS.idleMs,
          userAgent: s0.userAgent,
        });
        expect(JSON.stringify(listed)).not.toContain(s0.storeId);

        await store.destroy(s1.storeId);
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([s0.handle, s2.handle]);
        expect(await store.listForUser(newUserId())).toEqual([]);
      });

      it('listForUser reports expiresAt as min(lastAccess + idle, deadline) and drops expired sessions', async () => {
        const store = await open();
        const user = newUserId();
        const lasting = newSession({ userId: user, createdAt: Date.now() - 10 });
        const brief = newSession({ userId: user, absoluteDeadline: Date.now() + 300, userAgent: null });
        await store.create(lasting);
        await store.create(brief);

        const listed = await store.listForUser(user);
        expect(listed.map((i) => [i.handle, i.expiresAt, i.userAgent])).toEqual([
          [lasting.handle, listed[0].lastAccessAt + DEFAULTS.idleMs, lasting.userAgent],
          [brief.handle, brief.absoluteDeadline, null],
        ]);

        await sleep(400);
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([lasting.handle]);
      });

      it("destroyByHandle destroys only that user's session with that handle", async () => {
        const store = await open();
        const [user, other] = [newUserId(), newUserId()];
        const [a, b] = sessionsOf(user, 2);
        const theirs = newSession({ userId: other });
        for (const s of [a, b, theirs]) await store.create(s);

        expect(await store.destroyByHandle(other, a.handle)).toBe(false);
        expect(await store.destroyByHandle(user, theirs.handle)).toBe(false);
        expect(await store.destroyByHandle(user, a.handle)).toBe(true);
        expect(await store.destroyByHandle(user, a.handle)).toBe(false);

        expect(await store.find(a.storeId)).toBeNull();
        expect(await store.find(b.storeId)).not.toBeNull();
        expect(await store.find(theirs.storeId)).not.toBeNull();
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([b.handle]);
      });

      it('destroyAllForUser destroys every session of the user, except the one named', async () => {
        const store = await open();
        const [user, other] = [newUserId(), newUserId()];
        const [a, b, c] = sessionsOf(user, 3);
        const theirs = newSession({ userId: other });
        for (const s of [a, b, c, theirs]) await store.create(s);

        expect(await store.destroyAllForUser(user, b.handle)).toBe(2);
        expect(await store.find(a.storeId)).toBeNull();
        expect(await store.find(c.storeId)).toBeNull();
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([b.handle]);

        expect(await store.destroyAllForUser(user)).toBe(1);
        expect(await store.find(b.storeId)).toBeNull();
        expect(await store.listForUser(user)).toEqual([]);
        expect(await store.destroyAllForUser(user)).toBe(0);

        expect(await store.find(theirs.storeId)).not.toBeNull();
        expect((await store.listForUser(other)).map((i) => i.handle)).toEqual([theirs.handle]);
      });
    });

    describe('maxSessionsPerUser', () => {
      it('create evicts the oldest sessions beyond the limit and reports their handles', async () => {
        const store = await open({ maxSessionsPerUser: 2 });
        const user = newUserId();
        const [a, b, c] = sessionsOf(user, 3);

        expect(await store.create(a)).toEqual({ evicted: [] });
        expect(await store.create(b)).toEqual({ evicted: [] });
        expect(await store.create(c)).toEqual({ evicted: [a.handle] });

        expect(await store.find(a.storeId)).toBeNull();
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([b.handle, c.handle]);
      });

      it('never evicts the session just created, even when its deadline is the earliest', async () => {
        const store = await open({ maxSessionsPerUser: 2 });
        const user = newUserId();
        const [a, b] = sessionsOf(user, 2);
        const late = newSession({ userId: user, createdAt: Date.now() + 100, absoluteDeadline: Date.now() + 60_000 });
        await store.create(a);
        await store.create(b);

        expect(await store.create(late)).toEqual({ evicted: [a.handle] });

        expect(await store.find(late.storeId)).not.toBeNull();
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([b.handle, late.handle]);
      });

      it('does not count guests, other users, or sessions that already expired', async () => {
        const store = await open({ maxSessionsPerUser: 2, idleMs: 1_000, touchAfterMs: 100 });
        const user = newUserId();
        const [a, b, c] = sessionsOf(user, 3);
        const guests = sessionsOf(null, 3);
        for (const s of [a, b, ...guests, newSession({ userId: newUserId() })]) await store.create(s);

        // b idles out while a is kept alive.
        await sleep(600);
        expect(await store.find(a.storeId)).not.toBeNull();
        await sleep(600);

        expect(await store.create(c)).toEqual({ evicted: [] });
        expect(await store.find(a.storeId)).not.toBeNull();
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([a.handle, c.handle]);
      });

      // The victims are chosen when the new session is indexed, before the revoke mark is read.
      it.each(['create', 'rotate'] as const)(
        'a sign-in (%s) refused because "sign out everywhere else" ran meanwhile evicts nothing: the kept session stays',
        async (how) => {
          const store = await open({ maxSessionsPerUser: 1 });
          const user = newUserId();
          const kept = newSession({ userId: user });
          await store.create(kept);
          const requestStarted = Date.now() - 5;
          expect(await store.destroyAllForUser(user, kept.handle)).toBe(0);

          if (how === 'create') {
            const late = newSession({ userId: user, notRevokedSince: requestStarted });
            await expect(store.create(late)).rejects.toThrow(SessionGoneError);
            expect(await store.find(late.storeId)).toBeNull();
          } else {
            const guest = newSession();
            await store.create(guest);
            const late = newTarget({ userId: user, notRevokedSince: requestStarted });
            expect(await store.rotate(guest.storeId, late, delta())).toBe('gone');
            expect(await store.find(late.storeId)).toBeNull();
          }

          expect(await store.find(kept.storeId)).not.toBeNull();
          expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([kept.handle]);
        },
      );

      it("rotating a guest session to a user adds it to that user's list, within the limit", async () => {
        const store = await open({ maxSessionsPerUser: 3 });
        const user = newUserId();
        const base = Date.now();
        const [a, b] = sessionsOf(user, 2, base);
        const [g, h] = sessionsOf(null, 2, base + 100);
        for (const s of [a, b, g, h]) await store.create(s);
        const gTo = newTarget({ userId: user });
        const hTo = newTarget({ userId: user });

        expect(await store.rotate(g.storeId, gTo, delta())).toEqual({ evicted: [] });
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([a.handle, b.handle, gTo.handle]);

        // Reported, as create reports its evictions, so the sign-in can announce them.
        expect(await store.rotate(h.storeId, hTo, delta())).toEqual({ evicted: [a.handle] });
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([b.handle, gTo.handle, hTo.handle]);
        expect(await store.find(a.storeId)).toBeNull();
      });

      it("rotating a user's own session keeps the count: nothing is evicted", async () => {
        const store = await open({ maxSessionsPerUser: 2 });
        const [user, other] = [newUserId(), newUserId()];
        const [a, b] = sessionsOf(user, 2);
        await store.create(a);
        await store.create(b);
        const aTo = newTarget({ userId: user });
        const bTo = newTarget({ userId: user });

        expect(await store.rotate(a.storeId, aTo, delta())).toEqual({ evicted: [] });
        expect(await store.rotate(b.storeId, bTo, delta())).toEqual({ evicted: [] });

        expect(await store.find(aTo.storeId)).not.toBeNull();
        expect(await store.find(bTo.storeId)).not.toBeNull();
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([aTo.handle, bTo.handle]);

        // Handing the session to another user moves it from one list to the other.
        const switched = newTarget({ userId: other });
        expect(await store.rotate(bTo.storeId, switched, delta())).toEqual({ evicted: [] });
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([aTo.handle]);
        expect((await store.listForUser(other)).map((i) => i.handle)).toEqual([switched.handle]);
      });
    });

    describe('rotate with rotationGraceMs', () => {
      const GRACE_MS = 400;

      it('retires the old session: readable as it was, never slid, refused for writes, unlisted, gone after the grace', async () => {
        const store = await open({ rotationGraceMs: GRACE_MS, touchAfterMs: 1 });
        const user = newUserId();
        const old = newSession({ userId: user, data: data({ cart: '[1]' }) });
        await store.create(old);
        const to = newTarget({ userId: user });
        const before = Date.now();

        expect(await store.rotate(old.storeId, to, delta({ cart: '[1,2]' }))).toEqual({ evicted: [] });

        const retired = await store.find(old.storeId);
        expect(retired?.data).toEqual(data({ cart: '[1]' }));
        expect(retired?.userId).toBe(user);
        expect(retired?.handle).toBe(old.handle);
        expect(retired?.retiredUntil).toBeGreaterThanOrEqual(before + GRACE_MS);
        expect(retired?.retiredUntil).toBeLessThanOrEqual(Date.now() + GRACE_MS);
        expect((await store.find(to.storeId))?.data).toEqual(data({ cart: '[1,2]' }));
        expect((await store.find(to.storeId))?.retiredUntil).toBeUndefined();

        expect(await store.commit(old.storeId, delta({ cart: '[9]' }))).toBe('replaced');
        expect(await store.increment(old.storeId, 'n', 1)).toBe('replaced');
        expect(await store.rotate(old.storeId, newTarget({ userId: user }), delta())).toBe('replaced');
        expect((await store.find(old.storeId))?.data).toEqual(data({ cart: '[1]' }));
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([to.handle]);

        // Read with a touch due (touchAfterMs 1) all along: a retired session still ends on time.
        while (Date.now() < before + GRACE_MS - 100) {
          expect(await store.find(old.storeId)).not.toBeNull();
          await sleep(50);
        }
        await sleep(before + GRACE_MS + 50 - Date.now());
        expect(await store.find(old.storeId)).toBeNull();
        expect(await store.find(to.storeId)).not.toBeNull();
      });

      it('ends the retired session with the new one: destroy, revoke by handle, revoke all', async () => {
        const store = await open({ rotationGraceMs: 60_000 });
        const user = newUserId();
        const [a, b, c] = sessionsOf(user, 3);
        const targets = [a, b, c].map(() => newTarget({ userId: user }));
        for (const [i, s] of [a, b, c].entries()) {
          await store.create(s);
          expect(await store.rotate(s.storeId, targets[i], delta())).toEqual({ evicted: [] });
          expect(await store.find(s.storeId)).not.toBeNull();
        }

        expect(await store.destroy(targets[0].storeId)).toBe(true);
        expect(await store.find(a.storeId)).toBeNull();
        expect(await store.destroyByHandle(user, targets[1].handle)).toBe(true);
        expect(await store.find(b.storeId)).toBeNull();
        expect(await store.destroyAllForUser(user)).toBe(1);
        expect(await store.find(c.storeId)).toBeNull();
      });

      it('keeps one retired session per live one: a second rotation ends the first retired id', async () => {
        const store = await open({ rotationGraceMs: 60_000 });
        const first = newSession();
        await store.create(first);
        const second = newTarget();
        const third = newTarget({ userId: newUserId() });

        expect(await store.rotate(first.storeId, second, delta())).toEqual({ evicted: [] });
        expect(await store.rotate(second.storeId, third, delta())).toEqual({ evicted: [] });

        expect(await store.find(first.storeId)).toBeNull();
        expect((await store.find(second.storeId))?.retiredUntil).toBeGreaterThan(Date.now());
        expect((await store.find(third.storeId))?.userId).toBe(third.userId);
      });

      it('two rotations of one id at once: one wins, the other is refused and leaves nothing behind', async () => {
        const store = await open({ rotationGraceMs: 60_000 });
        const user = newUserId();
        const old = newSession({ userId: user });
        await store.create(old);
        const targets = [newTarget({ userId: user }), newTarget({ userId: user })];

        const outcomes = (await Promise.all(targets.map((t) => store.rotate(old.storeId, t, delta())))).map((o) =>
          typeof o === 'string' ? o : 'ok',
        );

        expect([...outcomes].sort()).toEqual(['ok', 'replaced']);
        const winner = targets[outcomes.indexOf('ok')];
        const loser = targets[outcomes.indexOf('replaced')];
        expect(await store.find(loser.storeId)).toBeNull();
        expect(await store.find(winner.storeId)).not.toBeNull();
        // The loser's clean-up did not cut the winner's grace.
        expect((await store.find(old.storeId))?.retiredUntil).toBeGreaterThan(Date.now());
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([winner.handle]);
      });

      it('"sign out everywhere else" then a rotation of the kept session (a password change): it rotates; another session of the user started before the revoke cannot', async () => {
        const store = await open({ rotationGraceMs: 60_000 });
        const user = newUserId();
        const kept = newSession({ userId: user });
        const other = newSession({ userId: user });
        await store.create(kept);
        await store.create(other);
        const requestStarted = Date.now() - 5;

        expect(await store.destroyAllForUser(user, kept.handle)).toBe(1);
        const rotated = newTarget({ userId: user, notRevokedSince: requestStarted });
        expect(await store.rotate(kept.storeId, rotated, delta())).toEqual({ evicted: [] });
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([rotated.handle]);

        // A sign-in under way on another session (a guest's, in no index the revoke could list),
        // begun before the revoke: the mark keeps only the one session, so this one is refused.
        const guest = newSession();
        await store.create(guest);
        expect(await store.rotate(guest.storeId, newTarget({ userId: user, notRevokedSince: requestStarted }), delta())).toBe('gone');
        expect((await store.listForUser(user)).map((i) => i.handle)).toEqual([rotated.handle]);
        // The guest's own session is left as it was: still there, still writable.
        expect(await store.commit(guest.storeId, delta({ after: '1' }))).toBe('ok');
      });

      it('without a grace, the old id dies at once', async () => {
        const store = await open({ rotationGraceMs: 0 });
        const old = newSession();
        await store.create(old);
        expect(await store.rotate(old.storeId, newTarget(), delta())).toEqual({ evicted: [] });
        expect(await store.find(old.storeId)).toBeNull();
      });
    });

    it('ping answers true', async () => {
      const store = await open();
      expect(await store.ping()).toBe(true);
    });
  });
}
