/**
 * The near-cache's invalidation link on a real Redis, store-level (the app-level suite is
 * near-cache.e2e-spec.ts):
 * - a link whose setup failed once (here an ACL refusal of SUBSCRIBE; in production, say, a stall
 *   past commandTimeout just after the subscriber reconnected) is retried, and the failure logged;
 * - tracking never touches the app's client, so two stores sharing one client keep their
 *   invalidations, also after one of them closed;
 * - FLUSHDB and FLUSHALL still empty the cache;
 * - a cached entry that may not be served (a touch is due) counts as a miss, not a hit.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import {
  CachedSessionStore,
  RedisSessionStore,
  type NewSession,
  type StoreSettings,
} from '../libs/session/src/index.js';
import { sessionKey } from '../libs/session/src/store/redis-schema.js';
import { redisClientFor, startRedisServer, type RedisServerHandle } from './support/redis-server.js';

const USER = 'near-cache-link';
const PASSWORD = 'near-cache-link-password';

let server: RedisServerHandle;
let probe: Redis;
const clients: Redis[] = [];
const stores: CachedSessionStore[] = [];
const prefix = `ncl-${Date.now().toString(36)}:`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const settings = (keyPrefix: string, extra: Partial<StoreSettings> = {}): StoreSettings => ({
  keyPrefix,
  idleMs: 600_000,
  touchAfterMs: 60_000,
  maxDataBytes: 65_536,
  maxSessionsPerUser: null,
  ...extra,
});

async function client(options: RedisOptions = {}): Promise<Redis> {
  // The library's command timeout; a quick reconnect keeps the waits short.
  const created = await redisClientFor(server, { commandTimeout: 1000, retryStrategy: () => 100, ...options });
  clients.push(created);
  return created;
}

async function cachedStore(redis: Redis, storeSettings: StoreSettings): Promise<CachedSessionStore> {
  const store = new CachedSessionStore(new RedisSessionStore(redis, storeSettings), redis, storeSettings, { maxEntries: 100, ttlMs: 60_000 });
  stores.push(store);
  await waitFor('the invalidation link', () => store.stats().state === 'up');
  return store;
}

function newSession(storeId: string): NewSession {
  const now = Date.now();
  return {
    storeId,
    handle: `h-${storeId}`,
    userId: null,
    createdAt: now,
    absoluteDeadline: now + 3_600_000,
    userAgent: null,
    strategy: 'session-id',
    data: new Map([['x', '1']]),
  };
}

/** Creates a session and reads it until a read is served from the cache (our own create comes back as an invalidation first). */
async function createCached(store: CachedSessionStore, storeId: string): Promise<void> {
  await store.create(newSession(storeId));
  await waitFor(`${storeId} to be served from the cache`, async () => {
    const { hits } = store.stats();
    expect(await store.find(storeId)).not.toBeNull();
    return store.stats().hits > hits;
  });
}

/** Deletes a session around the store (a plain client): only Redis's invalidation can tell the store. */
async function deleteAround(store: CachedSessionStore, keyPrefix: string, storeId: string): Promise<void> {
  const { invalidations } = store.stats();
  expect(await probe.del(sessionKey(keyPrefix, storeId))).toBe(1);
  await waitFor(`the invalidation of ${storeId}`, () => store.stats().invalidations > invalidations);
  expect(await store.find(storeId)).toBeNull();
}

async function trackingFlags(redis: Redis): Promise<string[]> {
  const info = (await redis.call('CLIENT', 'TRACKINGINFO')) as unknown[];
  return info[info.indexOf('flags') + 1] as string[];
}

beforeAll(async () => {
  server = await startRedisServer();
  probe = await redisClientFor(server);
});

beforeEach(() => {
  jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
});

afterEach(async () => {
  jest.restoreAllMocks();
  for (const store of stores.splice(0)) await store.close();
  for (const redis of clients.splice(0)) redis.disconnect();
});

afterAll(async () => {
  probe?.disconnect();
  await server?.stop();
});

describe('near-cache invalidation link', () => {
  it('retries after setting the link up failed, and logs the failure although the link was already down', async () => {
    await probe.call('ACL', 'SETUSER', USER, 'reset', 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const keyPrefix = `${prefix}retry:`;
    const store = await cachedStore(await client({ username: USER, password: PASSWORD }), settings(keyPrefix));

    // The subscriber loses the channel: Redis drops it (so do we, to be sure), and its next SUBSCRIBE is refused.
    await probe.call('ACL', 'LOG', 'RESET');
    await probe.call('ACL', 'SETUSER', USER, 'resetchannels');
    await probe.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await waitFor('the link to drop', () => store.stats().state === 'down');
    await waitFor('the refused SUBSCRIBE', async () => JSON.stringify(await probe.call('ACL', 'LOG')).includes('__redis__:invalidate'));

    // Both connections stay up from here on: only a retry can bring the link back.
    await probe.call('ACL', 'SETUSER', USER, 'allchannels');
    await waitFor('the link to come back', () => store.stats().state === 'up');
    expect(warn.mock.calls.some(([message]) => String(message).includes('NOPERM'))).toBe(true);

    await createCached(store, 's1');
    await deleteAround(store, keyPrefix, 's1');
  });

  it('leaves the app client untouched: two stores sharing it both keep their invalidations', async () => {
    const shared = await client();
    const aPrefix = `${prefix}a:`;
    const a = await cachedStore(shared, settings(aPrefix));
    await createCached(a, 'a1');
    await createCached(a, 'a2');

    const b = await cachedStore(shared, settings(`${prefix}b:`));
    await createCached(b, 'b1');
    await deleteAround(a, aPrefix, 'a1');
    expect(await trackingFlags(shared)).toEqual(['off']);

    await b.close();
    expect(a.stats().state).toBe('up');
    await deleteAround(a, aPrefix, 'a2');
    expect(await trackingFlags(shared)).toEqual(['off']);
  });

  it.each(['FLUSHDB', 'FLUSHALL'])('empties the cache on %s', async (command) => {
    const store = await cachedStore(await client(), settings(`${prefix}flush:`));
    await createCached(store, 'f1');
    const { flushes } = store.stats();
    await probe.call(command);
    await waitFor(`the ${command} invalidation`, () => store.stats().flushes > flushes);
    expect(store.stats()).toMatchObject({ state: 'up', entries: 0 });
    expect(await store.find('f1')).toBeNull();
  });
});

describe('near-cache stats', () => {
  it('counts a cached entry whose touch is due as a miss: the read goes to Redis', async () => {
    const touchAfterMs = 500;
    const store = await cachedStore(await client(), settings(`${prefix}touch:`, { touchAfterMs }));
    await createCached(store, 't1');
    const cached = await store.find('t1');
    if (cached === null) throw new Error('t1 is gone');

    await sleep(cached.lastAccessAt + touchAfterMs + 10 - Date.now());
    const before = store.stats();
    const reloaded = await store.find('t1');
    // Touched in Redis, so the read did go there.
    expect(reloaded?.lastAccessAt).toBeGreaterThan(cached.lastAccessAt);
    expect(store.stats()).toMatchObject({ hits: before.hits, misses: before.misses + 1 });
  });
});
