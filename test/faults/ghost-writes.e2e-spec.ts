/**
 * No ghost writes. A command that timed out is not cancelled: it stays in the socket (or in
 * ioredis' queue) and Redis may run it later, and ioredis re-sends the commands that were in flight
 * when a connection dropped (`autoResendUnfulfilledCommands`). These drills make both happen on
 * purpose, with the library's own client settings, and check what lands:
 *
 * - SIGSTOP the server, let writes time out (the caller saw an error), SIGCONT: every write that
 *   lands late still carries a TTL, and a write queued behind a timed-out logout never brings the
 *   session back (the scripts check liveness and set the expiry atomically);
 * - SIGSTOP, drop the client's socket while an `increment` is in flight, SIGCONT: Redis runs the
 *   original and ioredis re-sends it. A plain HINCRBY is applied twice (the hazard, shown with the
 *   same client); the library's increment is applied exactly once (op id de-duplication).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { createRedisConnection } from '../../libs/session/src/redis/redis-client.factory.js';
import { SessionStoreUnavailableError } from '../../libs/session/src/session.errors.js';
import { RedisSessionStore } from '../../libs/session/src/store/redis-session.store.js';
import { META, dataField, sessionKey, userIndexKey } from '../../libs/session/src/store/redis-schema.js';
import type { StoreSettings } from '../../libs/session/src/store/session-store.interface.js';
import { delta, newSession, newUserId } from '../../libs/session/test/session-store.contract.js';
import { failOnProcessErrors } from '../support/fault-drill.js';
import { allKeysAndValues, holdsSession } from '../support/redis-server.js';
import { sleep, startStandalone, waitFor, type StandaloneTopology } from '../support/redis-topology.js';

failOnProcessErrors();

const settings: StoreSettings = {
  keyPrefix: 'ghost:',
  idleMs: 60_000,
  touchAfterMs: 10_000,
  maxDataBytes: 4096,
  maxSessionsPerUser: null,
};

let topology: StandaloneTopology;
let admin: Redis;

beforeAll(async () => {
  topology = await startStandalone();
  admin = await topology.node.client();
});

afterAll(async () => {
  await admin?.quit();
  await topology?.stop();
});

const opened: Redis[] = [];

beforeEach(async () => {
  await admin.flushall();
});

afterEach(() => {
  // A failed test must not leave a reconnecting client behind (Jest would never exit).
  for (const client of opened.splice(0)) client.disconnect();
});

/** A store on the library's own client (createRedisConnection: the shipped settings). */
function openStore(): { store: RedisSessionStore; client: Redis; close(): Promise<void> } {
  const { client } = createRedisConnection({ url: topology.redis.url });
  opened.push(client as Redis);
  return {
    store: new RedisSessionStore(client as Redis, settings),
    client: client as Redis,
    close: async () => {
      await waitFor('client ready before quit', async () => (client as Redis).status === 'ready', 10_000);
      await client.quit();
    },
  };
}

async function expectRejectedAsUnavailable(promise: Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  await expect(promise).rejects.toBeInstanceOf(SessionStoreUnavailableError);
  return Date.now() - t0;
}

/** Every key has a TTL (no session that never expires). */
async function expectEveryKeyToExpire(): Promise<void> {
  const entries = await allKeysAndValues(admin);
  expect(entries.filter((e) => e.ttlMs <= 0).map((e) => `${e.key} pttl=${e.ttlMs}`)).toEqual([]);
}

describe('writes that timed out while Redis was hung (SIGSTOP ... SIGCONT)', () => {
  it('land late with a TTL, and a write queued behind a timed-out logout does not resurrect the session', async () => {
    const { store, close } = openStore();
    const user = newUserId();
    const live = newSession({ userId: user, data: new Map([['n', '1']]) });
    const loggedOut = newSession({ userId: user });
    const created = newSession({ userId: user });
    await store.create(live);
    await store.create(loggedOut);

    topology.node.pause();
    // All on one connection, so Redis runs them in this order once it resumes.
    const late = [
      store.commit(live.storeId, delta({ a: '"late"' })),
      store.increment(live.storeId, 'n', 5),
      store.destroy(loggedOut.storeId),
      store.commit(loggedOut.storeId, delta({ b: '"after logout"' })),
      store.increment(loggedOut.storeId, 'n', 1),
      store.create(created),
    ];
    const waited = await Promise.all(late.map(expectRejectedAsUnavailable));
    // Each one failed within the command timeout (plus scheduling), not later.
    expect(Math.max(...waited)).toBeLessThan(1_600);
    topology.node.resume();
    await sleep(300);

    // The late writes did land: the caller saw an error for changes that were applied.
    expect(await admin.hget(sessionKey('ghost:', live.storeId), dataField('a'))).toBe('"late"');
    expect(await admin.hget(sessionKey('ghost:', live.storeId), dataField('n'))).toBe('6');
    expect(await admin.exists(sessionKey('ghost:', created.storeId))).toBe(1);
    // ...but nothing without an expiry, and the logged-out session stayed gone.
    expect(await holdsSession(admin, sessionKey('ghost:', loggedOut.storeId))).toBe(false);
    await expectEveryKeyToExpire();
    await close();
  });
});

describe('increment across a reconnect (reply lost, ioredis re-sends)', () => {
  /**
   * Sends `action` while the server is stopped, then drops the client's socket, so ioredis
   * reconnects and re-sends the in-flight command once the server runs again, while the server
   * also runs the original from the old socket.
   */
  async function lostReply(client: Redis, action: () => Promise<unknown>): Promise<void> {
    await waitFor('client ready', async () => client.status === 'ready', 5_000);
    topology.node.pause();
    const pending = action().catch((error: unknown) => error);
    await sleep(50);
    (client as unknown as { stream: { destroy(): void } }).stream.destroy();
    await sleep(100);
    topology.node.resume();
    await pending;
    // Let the reconnect finish and the re-sent command run.
    await waitFor('client ready again', async () => client.status === 'ready', 10_000);
    await sleep(300);
  }

  /** EVALSHA + EVAL calls so far (a script re-sent after a reconnect may come back as either). */
  async function scriptCalls(): Promise<number> {
    const stats = await admin.info('commandstats');
    return [...stats.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[2]), 0);
  }

  it('a plain HINCRBY on the same client is applied twice (the hazard)', async () => {
    const { client, close } = openStore();
    await admin.hset('ghost:plain', 'n', '0');
    await lostReply(client, () => client.hincrby('ghost:plain', 'n', 1));
    expect(await admin.hget('ghost:plain', 'n')).toBe('2');
    await close();
  });

  it("the library's increment is applied exactly once", async () => {
    const { store, client, close } = openStore();
    const session = newSession({ userId: newUserId(), data: new Map([['n', '0']]) });
    await store.create(session);
    const before = await scriptCalls();
    await lostReply(client, () => store.increment(session.storeId, 'n', 1));
    // Redis did run it twice (the original and ioredis' re-send)...
    expect((await scriptCalls()) - before).toBe(2);
    // ...and it counted once.
    expect(await admin.hget(sessionKey('ghost:', session.storeId), dataField('n'))).toBe('1');
    // The op id was recorded, and the session kept its TTL.
    expect(await admin.hget(sessionKey('ghost:', session.storeId), META.ops)).toMatch(/^;[A-Za-z0-9_-]{16}=1$/);
    await expectEveryKeyToExpire();
    // Later increments still apply: de-duplication is per operation, not per value.
    expect(await store.increment(session.storeId, 'n', 1)).toBe(2);
    await close();
  });

  it("the library's delete (a logout) is answered as the delete it was: the session reported ended and unlinked", async () => {
    const { store, client, close } = openStore();
    const user = newUserId();
    const session = newSession({ userId: user });
    await store.create(session);
    const before = await scriptCalls();
    let outcome: unknown;
    await lostReply(client, async () => (outcome = await store.destroy(session.storeId)));
    // Redis ran it twice (the original and ioredis' re-send); the re-send found its own tombstone...
    expect((await scriptCalls()) - before).toBe(2);
    // ...so the caller learnt that the session existed, and it was unlinked from its user.
    expect(outcome).toBe(true);
    expect(await admin.zrange(userIndexKey('ghost:', user), 0, '-1')).toEqual([]);
    expect(await holdsSession(admin, sessionKey('ghost:', session.storeId))).toBe(false);
    await expectEveryKeyToExpire();
    await close();
  });

  it('keeps only the last 16 op ids, and answers a re-sent op with its first result', async () => {
    const { store, client, close } = openStore();
    const session = newSession({ userId: newUserId(), data: new Map([['n', '0']]) });
    await store.create(session);
    for (let i = 1; i <= 20; i++) expect(await store.increment(session.storeId, 'n', 1)).toBe(i);
    const ops = (await admin.hget(sessionKey('ghost:', session.storeId), META.ops))!;
    expect(ops.split(';').filter(Boolean)).toHaveLength(16);
    expect(ops.endsWith('=20')).toBe(true);

    // Replay the newest recorded op by hand, as ioredis would: same arguments, same op id.
    const [op] = ops.split(';').filter(Boolean).slice(-1)[0].split('=');
    const replay = (client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>).sessionIncrement;
    const reply = await replay.call(client, sessionKey('ghost:', session.storeId), Date.now(), 60_000, 4096, dataField('n'), 1, op);
    expect(reply).toEqual([1, '20']);
    expect(await admin.hget(sessionKey('ghost:', session.storeId), dataField('n'))).toBe('20');
    await close();
  });
});
