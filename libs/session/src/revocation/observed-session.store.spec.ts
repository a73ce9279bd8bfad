import { afterEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { SessionStoreUnavailableError } from '../session.errors.js';
import { withEvicted } from '../store/evicted-before-failure.js';
import { MemorySessionStore } from '../store/memory-session.store.js';
import type { NewSession, RotationOutcome } from '../store/session-store.interface.js';
import { observeSessionEndings } from './observed-session.store.js';
import { storeIdDigest, type SessionEnded, type SessionEndedBus } from './session-ended.bus.js';

const id = (bytes: number): string => randomBytes(bytes).toString('base64url');

/** Collects what the observed store announces (no Redis: publish is all the store uses). */
function recordingBus(): { bus: SessionEndedBus; events: SessionEnded[] } {
  const events: SessionEnded[] = [];
  return { bus: { publish: (event: SessionEnded) => void events.push(event) } as unknown as SessionEndedBus, events };
}

const stores: MemorySessionStore[] = [];
function memoryStore(maxSessionsPerUser: number | null = null): MemorySessionStore {
  const store = new MemorySessionStore({ keyPrefix: 'unit:', idleMs: 60_000, touchAfterMs: 1_000, maxDataBytes: 65_536, maxSessionsPerUser });
  stores.push(store);
  return store;
}

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

function session(userId: string | null, createdAt = Date.now()): NewSession {
  return {
    storeId: id(24),
    handle: id(16),
    userId,
    createdAt,
    absoluteDeadline: createdAt + 3_600_000,
    userAgent: null,
    strategy: 'session-id',
    data: new Map(),
  };
}

describe('observeSessionEndings', () => {
  it('keeps the store itself: instanceof, other methods and their results', async () => {
    const { bus, events } = recordingBus();
    const inner = memoryStore();
    const store = observeSessionEndings(inner, bus);
    expect(store).toBeInstanceOf(MemorySessionStore);
    expect(store.constructor).toBe(MemorySessionStore);
    const created = session('alice');
    expect(await store.create(created)).toEqual({ evicted: [] });
    expect((await store.find(created.storeId))?.handle).toBe(created.handle);
    expect(await store.ping()).toBe(true);
    expect(events).toEqual([]);
  });

  it('announces a destroyed session by the digest of its store id, never the id itself', async () => {
    const { bus, events } = recordingBus();
    const store = observeSessionEndings(memoryStore(), bus);
    const created = session(null);
    await store.create(created);
    expect(await store.destroy(created.storeId)).toBe(true);
    expect(events).toEqual([{ kind: 'session', digest: storeIdDigest(created.storeId), reason: 'destroyed' }]);
    expect(JSON.stringify(events)).not.toContain(created.storeId);
  });

  it('announces a rotation away from the old id, only when it happened', async () => {
    const { bus, events } = recordingBus();
    const store = observeSessionEndings(memoryStore(), bus);
    const created = session('bob');
    await store.create(created);
    const target = { storeId: id(24), handle: id(16), userId: 'bob', strategy: 'session-id' };
    const empty = { set: new Map<string, string>(), delete: new Set<string>() };
    expect(await store.rotate(created.storeId, target, empty)).toEqual({ evicted: [] });
    expect(await store.rotate(created.storeId, { ...target, storeId: id(24) }, empty)).toBe('gone');
    expect(events).toEqual([{ kind: 'session', digest: storeIdDigest(created.storeId), reason: 'rotated' }]);
  });

  it('announces revocations by handle and "all but one" by user, only when something ended', async () => {
    const { bus, events } = recordingBus();
    const store = observeSessionEndings(memoryStore(), bus);
    const [a, b, c] = [session('carol'), session('carol'), session('carol')];
    for (const s of [a, b, c]) await store.create(s);
    expect(await store.destroyByHandle('carol', a.handle)).toBe(true);
    expect(await store.destroyByHandle('carol', a.handle)).toBe(false);
    expect(await store.destroyAllForUser('carol', c.handle)).toBe(1);
    expect(await store.destroyAllForUser('carol', c.handle)).toBe(0);
    expect(events).toEqual([
      { kind: 'handle', userId: 'carol', handle: a.handle },
      { kind: 'user', userId: 'carol', except: c.handle },
    ]);
    expect(b.handle).not.toBe(c.handle);
  });

  it('announces sessions evicted by maxSessionsPerUser', async () => {
    const { bus, events } = recordingBus();
    const store = observeSessionEndings(memoryStore(1), bus);
    const first = session('dave', Date.now() - 10);
    await store.create(first);
    await store.create(session('dave'));
    expect(events).toEqual([{ kind: 'handle', userId: 'dave', handle: first.handle }]);
  });

  it('announces sessions evicted by a sign-in that rotates a guest session into the user', async () => {
    const { bus, events } = recordingBus();
    const store = observeSessionEndings(memoryStore(1), bus);
    const first = session('erin', Date.now() - 10);
    const guest = session(null);
    await store.create(first);
    await store.create(guest);
    const target = { storeId: id(24), handle: id(16), userId: 'erin', strategy: 'session-id' };
    await store.rotate(guest.storeId, target, { set: new Map(), delete: new Set() });
    expect(events).toEqual([
      { kind: 'session', digest: storeIdDigest(guest.storeId), reason: 'rotated' },
      { kind: 'handle', userId: 'erin', handle: first.handle },
    ]);
  });

  it('announces the sessions a refused sign-in evicted before its refusal, and no rotation', async () => {
    const { bus, events } = recordingBus();
    const inner = memoryStore(1);
    // The Redis store's answer when a logout overtook the sign-in between eviction and retire
    // (redis-session.store.spec.ts); the memory store, one step for all, never gives it.
    const refused: RotationOutcome = { refused: 'gone', evicted: ['evicted-handle'] };
    inner.rotate = async () => refused;
    const store = observeSessionEndings(inner, bus);
    const target = { storeId: id(24), handle: id(16), userId: 'erin', strategy: 'session-id' };
    expect(await store.rotate(id(24), target, { set: new Map(), delete: new Set() })).toBe(refused);
    expect(events).toEqual([{ kind: 'handle', userId: 'erin', handle: 'evicted-handle' }]);
  });

  it('announces the sessions a failed sign-in evicted before it failed, and no rotation', async () => {
    const { bus, events } = recordingBus();
    const inner = memoryStore(1);
    // What the Redis store throws when its retire step fails after the eviction (redis-session.store.spec.ts).
    const failure = withEvicted(new SessionStoreUnavailableError(new Error('no reply')), ['evicted-handle']);
    inner.rotate = async () => {
      throw failure;
    };
    const store = observeSessionEndings(inner, bus);
    const target = { storeId: id(24), handle: id(16), userId: 'erin', strategy: 'session-id' };
    await expect(store.rotate(id(24), target, { set: new Map(), delete: new Set() })).rejects.toBe(failure);
    expect(events).toEqual([{ kind: 'handle', userId: 'erin', handle: 'evicted-handle' }]);
  });
});
