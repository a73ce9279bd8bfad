// See options/session-options.load.spec.ts: the options module needs the polyfill loaded first.
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { randomToken } from './crypto.util.js';
import type { ResponseWriter } from './http/http-message.js';
import { resolveSessionOptions, type ResolvedSessionOptions } from './options/resolved-options.js';
import { commitSession } from './session-commit.js';
import type { SessionLifecycle } from './events/session-lifecycle.js';
import { SessionLoader } from './session-loader.js';
import { SessionDataError, SessionDataTooLargeError, SessionGoneError, SessionReplacedError, SessionStoreUnavailableError, SessionUsageError } from './session.errors.js';
import { withEvicted } from './store/evicted-before-failure.js';
import { MemorySessionStore } from './store/memory-session.store.js';
import { SessionIdStrategy } from './strategies/session-id.strategy.js';
import { newHandle, type UserSession } from './user-session.js';

type Session = UserSession<Record<string, unknown>>;

/** Collects the headers the commit step writes. */
class FakeResponse implements ResponseWriter {
  readonly headers: Array<[string, string]> = [];
  readonly headersWritable = true;

  appendHeader(name: string, value: string): void {
    this.headers.push([name, value]);
  }

  get setCookies(): string[] {
    return this.headers.filter(([name]) => name.toLowerCase() === 'set-cookie').map(([, value]) => value);
  }

  /** The session id a Set-Cookie delivered, or undefined. */
  get issuedId(): string | undefined {
    const match = /^__Host-sid=([^;]+);/.exec(this.setCookies[0] ?? '');
    return match?.[1];
  }
}

let options: ResolvedSessionOptions;
let store: MemorySessionStore;
let loader: SessionLoader;
let warn: jest.Mock<(message: string) => void>;

beforeEach(() => {
  options = resolveSessionOptions({ store: 'memory', maxDataBytes: 1024 });
  store = new MemorySessionStore(options);
  // The loader is the production SessionBackend: { store, options, issuer, logger }.
  loader = new SessionLoader(store, options, [new SessionIdStrategy(options)]);
  warn = jest.fn<(message: string) => void>();
  jest.spyOn(loader.logger, 'warn').mockImplementation(warn as never);
});

afterEach(() => {
  store.close();
  jest.restoreAllMocks();
});

/** Starts a request: loads the session named by the cookie, or a fresh guest session. */
async function open(id?: string): Promise<Session> {
  const request = { headers: id === undefined ? {} : { cookie: `__Host-sid=${id}` } };
  const outcome = await loader.load(request);
  if (outcome.kind === 'rejected') throw new Error(`credential rejected: ${outcome.reason}`);
  return (outcome.kind === 'loaded' ? outcome.session : loader.fresh(request)) as Session;
}

/** Ends a request: commits the session and returns what was written to the response. */
async function finish(session: Session): Promise<FakeResponse> {
  const response = new FakeResponse();
  await commitSession(session as UserSession<object>, response);
  return response;
}

/** A stored guest (or signed-in) session with `data`; returns its id (= credential). */
async function persisted(data: Record<string, unknown>, userId?: string): Promise<string> {
  const session = await open();
  for (const [key, value] of Object.entries(data)) session.set(key, value);
  if (userId) await session.logIn(userId);
  const id = (await finish(session)).issuedId;
  if (!id) throw new Error('no session was issued');
  return id;
}

const storedData = async (id: string): Promise<Record<string, string> | null> => {
  const stored = await store.find(id);
  return stored ? Object.fromEntries(stored.data) : null;
};

describe('UserSession data', () => {
  it('set / get / has / keys / delete within a request and across requests', async () => {
    const first = await open();
    first.set('cart', [{ sku: 'A1', qty: 2 }]);
    first.set('theme', 'dark');
    expect(first.get('cart')).toEqual([{ sku: 'A1', qty: 2 }]);
    expect(first.has('theme')).toBe(true);
    expect(first.keys()).toEqual(['cart', 'theme']);
    const id = (await finish(first)).issuedId!;
    expect(await storedData(id)).toEqual({ cart: '[{"sku":"A1","qty":2}]', theme: '"dark"' });

    const second = await open(id);
    expect(second.isNew).toBe(false);
    expect(second.get('cart')).toEqual([{ sku: 'A1', qty: 2 }]);
    second.delete('theme');
    expect(second.get('theme')).toBeUndefined();
    expect(second.has('theme')).toBe(false);
    expect(second.keys()).toEqual(['cart']);
    expect((await finish(second)).setCookies).toEqual([]);
    expect(await storedData(id)).toEqual({ cart: '[{"sku":"A1","qty":2}]' });

    const third = await open(id);
    expect(third.get('theme')).toBeUndefined();
    expect(third.get('missing')).toBeUndefined();
  });

  it("stores an instance of the app's own class as its own enumerable properties, honouring toJSON", async () => {
    class Profile {
      constructor(readonly name: string, readonly age: number) {}
      greet(): string {
        return `hi ${this.name}`;
      }
    }
    class Money {
      constructor(private readonly cents: number) {}
      toJSON() {
        return { amount: this.cents / 100 };
      }
    }
    const session = await open();
    session.set('profile', new Profile('ada', 36));
    session.set('price', new Money(250));
    expect(session.get('profile')).toEqual({ name: 'ada', age: 36 });
    expect(session.get('price')).toEqual({ amount: 2.5 });
  });

  it('gives each get() its own copy of an object value', async () => {
    const session = await open();
    session.set('profile', { name: 'Ada' });
    (session.get('profile') as { name: string }).name = 'changed';
    expect(session.get('profile')).toEqual({ name: 'Ada' });
  });

  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  it.each([
    ['a function', () => 1],
    ['undefined', undefined],
    ['a BigInt', 10n],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a nested BigInt', { total: 10n }],
    ['a nested NaN', { ratio: [1, NaN] }],
    ['a cycle', cycle],
    // What JSON would turn into {} or an index-keyed object without a word:
    ['an Error', new Error('x')],
    ['a RegExp', /x/],
    ['a Uint8Array', new Uint8Array([1, 2])],
    ['an ArrayBuffer', new ArrayBuffer(2)],
    ['a nested Promise', { pending: Promise.resolve(1) }],
    ['a function under the key ""', { '': () => 1 }],
  ])('throws SessionDataError for %s and keeps the session unchanged', async (_label, value) => {
    const session = await open();
    session.set('kept', 1);
    expect(() => session.set('bad', value)).toThrow(SessionDataError);
    expect(() => session.set('bad', value)).toThrow(/^Session value for "bad" cannot be stored: /);
    expect(session.has('bad')).toBe(false);
    const id = (await finish(session)).issuedId!;
    expect(await storedData(id)).toEqual({ kept: '1' });
  });

  it('throws SessionDataTooLargeError naming the key for an over-size value, writing nothing', async () => {
    const id = await persisted({ small: 'x' });
    const session = await open(id);
    const commit = jest.spyOn(store, 'commit');
    let error: unknown;
    try {
      session.set('notes', 'n'.repeat(2000));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SessionDataTooLargeError);
    expect(error).toMatchObject({ key: 'notes', limitBytes: 1024 });
    expect((error as Error).message).toBe('Session data too large: writing "notes" would exceed maxDataBytes (1024 bytes)');
    expect(session.has('notes')).toBe(false);
    await finish(session);
    expect(commit).not.toHaveBeenCalled();
    expect(await storedData(id)).toEqual({ small: '"x"' });
  });

  it('refuses invalid keys with SessionDataError', async () => {
    const session = await open();
    expect(() => session.set('', 1)).toThrow(SessionDataError);
    expect(() => session.set('bad\nkey', 1)).toThrow(SessionDataError);
    expect(() => session.set('k'.repeat(201), 1)).toThrow(SessionDataError);
    // Lone surrogate halves: 'k\uD800' and 'k\uDC00' would be one Redis field (both sent as U+FFFD).
    expect(() => session.set('k\uD800', 1)).toThrow('without control characters or lone surrogates');
    expect(() => session.set('k\uDC00', 1)).toThrow(SessionDataError);
    session.set('k😀', 1); // a well-formed pair is fine
    expect(session.get('k😀')).toBe(1);
  });

  async function sessionWithCorruptField(): Promise<string> {
    const storeId = randomToken(24);
    const now = Date.now();
    await store.create({
      storeId,
      handle: newHandle(),
      userId: null,
      createdAt: now,
      absoluteDeadline: now + options.absoluteMs,
      userAgent: null,
      strategy: 'session-id',
      data: new Map([
        ['good', '"fine"'],
        ['broken', '{"unterminated'],
      ]),
    });
    return storeId;
  }

  it('drops a corrupt stored field: get returns undefined, logs, and the field is deleted at commit', async () => {
    const id = await sessionWithCorruptField();
    const session = await open(id);
    expect(() => session.get('broken')).not.toThrow();
    expect(session.get('broken')).toBeUndefined();
    expect(session.has('broken')).toBe(false);
    expect(session.get('good')).toBe('fine');
    expect(warn).toHaveBeenCalledWith('Dropped undecodable session field "broken"');
    await finish(session);
    expect(await storedData(id)).toEqual({ good: '"fine"' });
  });

  // get() is a read: dropping the field is bookkeeping and must not throw SessionUsageError.
  it.each([
    ['destroy()', async (session: Session) => session.destroy()],
    ['commit', async (session: Session) => void (await finish(session))],
  ])('drops a corrupt stored field without throwing after %s', async (_label, before) => {
    const session = await open(await sessionWithCorruptField());
    await before(session);
    expect(() => session.get('broken')).not.toThrow();
    expect(session.get('broken')).toBeUndefined();
  });

  it('stores __proto__ and constructor as plain data and leaves Object.prototype clean', async () => {
    const session = await open();
    const payload = JSON.parse('{"__proto__":{"polluted":true},"isAdmin":true}') as object;
    session.set('__proto__', payload);
    session.set('constructor', { prototype: { polluted: true } });
    session.set('prototype', 'p');
    const id = (await finish(session)).issuedId!;

    const again = await open(id);
    expect(again.keys().sort()).toEqual(['__proto__', 'constructor', 'prototype']);
    const proto = again.get('__proto__') as Record<string, unknown>;
    expect(Object.prototype.hasOwnProperty.call(proto, '__proto__')).toBe(true);
    expect(proto.isAdmin).toBe(true);
    expect(again.get('constructor')).toEqual({ prototype: { polluted: true } });
    expect(Object.getPrototypeOf(again.get('constructor'))).toBe(Object.prototype);
    expect((await store.find(id))?.data.get('__proto__')).toBe('{"__proto__":{"polluted":true},"isAdmin":true}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('commitSession', () => {
  it('commits nothing for a request that changes nothing', async () => {
    const id = await persisted({ cart: ['A1'] }, 'alice');
    const before = await store.find(id);
    const writes = (['create', 'commit', 'rotate', 'destroy', 'increment'] as const).map((m) => jest.spyOn(store, m));

    const session = await open(id);
    expect(session.get('cart')).toEqual(['A1']);
    expect(session.keys()).toEqual(['cart']);
    expect(session.has('cart')).toBe(true);
    const response = await finish(session);

    for (const write of writes) expect(write).not.toHaveBeenCalled();
    expect(response.headers).toEqual([]);
    const after = await store.find(id);
    expect(after?.data).toEqual(before?.data);
    expect(after?.handle).toBe(before?.handle);
  });

  it('stores nothing and sets no cookie for a new guest session with no writes', async () => {
    const create = jest.spyOn(store, 'create');
    const session = await open();
    expect(session.isNew).toBe(true);
    expect(session.get('anything')).toBeUndefined();
    const response = await finish(session);
    expect(create).not.toHaveBeenCalled();
    expect(response.headers).toEqual([]);
    expect(session.isNew).toBe(true);
  });

  it('creates the session and sets the cookie on the first write', async () => {
    const session = await open();
    const handle = session.id;
    session.set('step', 1);
    const response = await finish(session);

    expect(response.setCookies).toHaveLength(1);
    expect(response.setCookies[0]).toMatch(/^__Host-sid=[A-Za-z0-9_-]{32}; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const id = response.issuedId!;
    const stored = await store.find(id);
    expect(stored).toMatchObject({ storeId: id, handle, userId: null, strategy: 'session-id' });
    expect(Object.fromEntries(stored!.data)).toEqual({ step: '1' });
    expect(session.isNew).toBe(false);
    expect((await open(id)).get('step')).toBe(1);
  });

  it('commits only the keys that changed', async () => {
    const id = await persisted({ a: 1, b: 2, c: 3 });
    const commit = jest.spyOn(store, 'commit');
    const session = await open(id);
    session.set('b', 20);
    session.delete('c');
    const response = await finish(session);
    expect(commit).toHaveBeenCalledTimes(1);
    const [, delta] = commit.mock.calls[0];
    expect([...delta.set]).toEqual([['b', '20']]);
    expect([...delta.delete]).toEqual(['c']);
    expect(response.headers).toEqual([]);
    expect(await storedData(id)).toEqual({ a: '1', b: '20' });
  });

  it('refuses changes after the session was committed', async () => {
    const session = await open();
    session.set('a', 1);
    await finish(session);
    expect(() => session.set('a', 2)).toThrow(SessionUsageError);
  });
});

describe('logIn', () => {
  it('rotates a guest session: new id and handle, data and createdAt kept, old id retired', async () => {
    const oldId = await persisted({ cart: ['A1', 'B2'] });
    const before = (await store.find(oldId))!;

    const session = await open(oldId);
    const oldHandle = session.id;
    await session.logIn('alice');
    const response = await finish(session);

    const newId = response.issuedId!;
    expect(newId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(newId).not.toBe(oldId);
    expect(session.token).toBe(newId);
    expect(session.id).not.toBe(oldHandle);
    expect((await store.find(oldId))?.retiredUntil).toBeGreaterThan(Date.now());

    const after = (await store.find(newId))!;
    expect(after).toMatchObject({ userId: 'alice', handle: session.id, createdAt: before.createdAt });
    expect(after.absoluteDeadline).toBe(before.absoluteDeadline);
    expect(Object.fromEntries(after.data)).toEqual({ cart: '["A1","B2"]' });
    expect((await open(newId)).userId).toBe('alice');
  });

  it('serves a rotated-away credential its own old session, read-only, within rotationGraceMs', async () => {
    const oldId = await persisted({ cart: ['A1'] });
    const session = await open(oldId);
    const oldHandle = session.id;
    await session.logIn('alice');
    session.set('cart', ['A1', 'B2']);
    await finish(session);

    const late = await open(oldId);
    expect(late.isReplaced).toBe(true);
    expect(late.userId).toBeNull(); // the guest it was, never the user it became
    expect(late.id).toBe(oldHandle);
    expect(late.get('cart')).toEqual(['A1']);
    expect(() => late.set('cart', [])).toThrow(SessionReplacedError);
    expect(() => late.delete('cart')).toThrow(SessionReplacedError);
    expect(() => late.destroy()).toThrow(SessionReplacedError);
    await expect(late.increment('visits')).rejects.toThrow(SessionReplacedError);
    await expect(late.logIn('mallory')).rejects.toThrow(SessionReplacedError);
    await expect(late.regenerate()).rejects.toThrow(SessionReplacedError);
    // Nothing to save and nothing sent: the credential is neither refreshed nor cleared.
    expect((await finish(late)).setCookies).toEqual([]);
    expect(await storedData(oldId)).toEqual({ cart: '["A1"]' });
  });

  it('a write that loaded the session before the rotation and saves after it is refused with 409, not applied', async () => {
    const oldId = await persisted({ cart: ['A1'] }, 'alice');
    const slow = await open(oldId);
    const login = await open(oldId);
    await login.logIn('alice');
    const newId = (await finish(login)).issuedId!;

    slow.set('cart', ['X']);
    await expect(finish(slow)).rejects.toThrow(SessionReplacedError);
    expect(await storedData(oldId)).toEqual({ cart: '["A1"]' });
    expect(await storedData(newId)).toEqual({ cart: '["A1"]' });
  });

  it('with rotationGraceMs 0 the old credential is refused at once', async () => {
    store.close();
    options = resolveSessionOptions({ store: 'memory', maxDataBytes: 1024, rotationGraceMs: 0 });
    store = new MemorySessionStore(options);
    loader = new SessionLoader(store, options, [new SessionIdStrategy(options)]);
    const oldId = await persisted({ cart: ['A1'] });
    const session = await open(oldId);
    await session.logIn('alice');
    await finish(session);

    expect(await store.find(oldId)).toBeNull();
    await expect(loader.load({ headers: { cookie: `__Host-sid=${oldId}` } })).resolves.toMatchObject({ kind: 'rejected' });
  });

  it('rotates again when the same user signs in again, keeping the data', async () => {
    const oldId = await persisted({ theme: 'dark' }, 'alice');
    const session = await open(oldId);
    await session.logIn('alice');
    const newId = (await finish(session)).issuedId!;
    expect(newId).not.toBe(oldId);
    expect((await store.find(oldId))?.retiredUntil).toBeGreaterThan(Date.now());
    expect(await storedData(newId)).toEqual({ theme: '"dark"' });
  });

  it('starts fresh for another user: data gone, old session destroyed', async () => {
    const aliceId = await persisted({ secretNote: 'alice only' }, 'alice');
    const aliceCreated = (await store.find(aliceId))!.createdAt;
    await new Promise((resolve) => setTimeout(resolve, 5));

    const session = await open(aliceId);
    await session.logIn('bob');
    expect(session.get('secretNote')).toBeUndefined();
    expect(session.keys()).toEqual([]);
    const bobId = (await finish(session)).issuedId!;

    expect(bobId).not.toBe(aliceId);
    expect(await store.find(aliceId)).toBeNull();
    const bob = (await store.find(bobId))!;
    expect(bob.userId).toBe('bob');
    expect(bob.data.size).toBe(0);
    expect(bob.createdAt).toBeGreaterThan(aliceCreated);
    expect(await store.listForUser('alice')).toEqual([]);
  });

  it('does not leave the previous user session alive when logIn(other) is followed by destroy()', async () => {
    const aliceId = await persisted({ note: 'x' }, 'alice');
    const session = await open(aliceId);
    await session.logIn('bob');
    session.destroy();
    await finish(session);
    expect(await store.find(aliceId)).toBeNull();
  });

  /** A guest session that signed in as alice in this request (not saved yet), with the revocations reported. */
  async function guestSigningInAsAlice() {
    const guestId = await persisted({ cart: ['A1'] });
    const revoked = jest.fn<(session: { handle: string; userId: string | null }, reason: string) => void>();
    loader = new SessionLoader(store, options, [new SessionIdStrategy(options)], { revoked } as unknown as SessionLifecycle);
    const session = await open(guestId);
    await session.logIn('alice');
    return { session, revoked };
  }

  it('a sign-in the store refused after it evicted sessions still reports the evictions, then the refusal', async () => {
    const { session, revoked } = await guestSigningInAsAlice();
    // What the Redis store answers when a logout of the guest session overtook the sign-in between
    // its eviction and its retire step (redis-session.store.spec.ts makes that happen on Redis).
    jest.spyOn(store, 'rotate').mockResolvedValueOnce({ refused: 'gone', evicted: ['evicted-handle'] });

    await expect(finish(session)).rejects.toThrow(SessionGoneError);
    expect(revoked.mock.calls).toEqual([[{ handle: 'evicted-handle', userId: 'alice' }, 'limit']]);
  });

  it('a sign-in that failed after it evicted sessions (Redis gone at its last step) still reports the evictions, then the failure', async () => {
    const { session, revoked } = await guestSigningInAsAlice();
    // What the Redis store throws when its retire step fails after the eviction (redis-session.store.spec.ts).
    const failure = withEvicted(new SessionStoreUnavailableError(new Error('no reply')), ['evicted-handle']);
    jest.spyOn(store, 'rotate').mockRejectedValueOnce(failure);

    await expect(finish(session)).rejects.toBe(failure);
    expect(revoked.mock.calls).toEqual([[{ handle: 'evicted-handle', userId: 'alice' }, 'limit']]);
  });

  it('refuses an invalid user id', async () => {
    const session = await open();
    await expect(session.logIn('user {1}')).rejects.toBeInstanceOf(SessionDataError);
    await expect(session.logIn('')).rejects.toBeInstanceOf(SessionDataError);
    // 'alice\uD800' and 'alice\uDC00' would share one user index in Redis (see USER_ID).
    await expect(session.logIn('alice\uD800')).rejects.toBeInstanceOf(SessionDataError);
    await expect(session.logIn('alice\uDC00')).rejects.toBeInstanceOf(SessionDataError);
  });
});

describe('destroy', () => {
  it('deletes the session and clears the cookie', async () => {
    const id = await persisted({ a: 1 }, 'alice');
    const session = await open(id);
    session.destroy();
    expect(() => session.set('a', 2)).toThrow(SessionUsageError);
    const response = await finish(session);

    expect(await store.find(id)).toBeNull();
    expect(await store.listForUser('alice')).toEqual([]);
    expect(response.setCookies).toHaveLength(1);
    expect(response.setCookies[0]).toMatch(/^__Host-sid=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax$/);
  });
});

describe('increment', () => {
  it('is applied atomically in the store at once on a persisted session', async () => {
    const id = await persisted({ visits: 5 });
    const increment = jest.spyOn(store, 'increment');
    const commit = jest.spyOn(store, 'commit');
    // Two concurrent requests on the same session, each with its own loaded copy.
    const [a, b] = await Promise.all([open(id), open(id)]);
    // Each copy loaded visits=5; a read-modify-write of the loaded value would give 6 and 15.
    expect(await Promise.all([a.increment('visits'), b.increment('visits', 10)])).toEqual([6, 16]);
    expect(increment).toHaveBeenCalledTimes(2);
    expect((await storedData(id))?.visits).toBe('16');
    expect(a.get('visits')).toBe(6);

    await Promise.all([finish(a), finish(b)]);
    expect(commit).not.toHaveBeenCalled();
    expect((await storedData(id))?.visits).toBe('16');
  });

  it('throws SessionGoneError when the session ended during the request', async () => {
    const id = await persisted({ visits: 1 });
    const session = await open(id);
    await store.destroy(id);
    await expect(session.increment('visits')).rejects.toBeInstanceOf(SessionGoneError);
  });

  it('is local on a new session and saved with the first commit', async () => {
    const increment = jest.spyOn(store, 'increment');
    const session = await open();
    expect(await session.increment('count')).toBe(1);
    expect(await session.increment('count', 2)).toBe(3);
    expect(increment).not.toHaveBeenCalled();
    expect(session.get('count')).toBe(3);
    const id = (await finish(session)).issuedId!;
    expect(await storedData(id)).toEqual({ count: '3' });
  });

  it('stays local for a key already changed in this request', async () => {
    const id = await persisted({ n: 1 });
    const increment = jest.spyOn(store, 'increment');
    const session = await open(id);
    session.set('n', 10);
    expect(await session.increment('n')).toBe(11);
    expect(increment).not.toHaveBeenCalled();
    await finish(session);
    expect((await storedData(id))?.n).toBe('11');
  });

  it('refuses a non-integer value or step', async () => {
    const id = await persisted({ label: 'x' });
    const session = await open(id);
    await expect(session.increment('label')).rejects.toBeInstanceOf(SessionDataError);
    await expect(session.increment('count', 1.5)).rejects.toBeInstanceOf(SessionDataError);
    const fresh = await open();
    fresh.set('label', 'x');
    await expect(fresh.increment('label')).rejects.toBeInstanceOf(SessionDataError);
  });
});
