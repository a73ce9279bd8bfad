/**
 * The SessionStore contract on every Redis topology the library supports: a standalone server, a
 * Sentinel set (1 master, 1 replica, 3 sentinels) and a Cluster (3 masters + 3 replicas). The store
 * gets its client from the library's own factory (`createRedisConnection`), so the shipped client
 * settings are what is tested. One topology per describe block, started in beforeAll.
 *
 * Then `durability` (WAIT after a durable destroy) on each: it must run on the connection of the
 * node that deleted the key, so freezing exactly that node's replica must make it fail. And
 * `durability.writes` (WAIT after sign-ins, rotations and writes) on standalone and Sentinel; it is
 * refused on Cluster at startup.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import { createRedisConnection } from '../src/redis/redis-client.factory.js';
import { SessionDurabilityError } from '../src/session.errors.js';
import { sessionKey } from '../src/store/redis-schema.js';
import { RedisSessionStore } from '../src/store/redis-session.store.js';
import type { SessionRedisOptions } from '../src/options/session-options.interface.js';
import { TOPOLOGY_KINDS, startTopology, type Topology } from '../../../test/support/redis-topology.js';
import { describeSessionStoreContract, newSession, newUserId } from './session-store.contract.js';

/** The store's private script runner, to replay a script as ioredis would. */
interface Runner {
  run(name: string, ...args: unknown[]): Promise<unknown>;
}

describe.each(TOPOLOGY_KINDS)('RedisSessionStore on %s Redis', (kind) => {
  let topology: Topology;

  beforeAll(async () => {
    topology = await startTopology(kind);
  }, 60_000);

  afterAll(async () => {
    await topology?.stop();
  });

  describeSessionStoreContract(`RedisSessionStore (${kind})`, async (settings) => {
    const { client } = createRedisConnection(topology.redis as SessionRedisOptions);
    return {
      store: new RedisSessionStore(client, settings),
      cleanup: async () => void (await client.quit()),
    };
  });
  it('batchWrites: 200 reads issued in one turn reach each master in a write or two', async () => {
    const { client } = createRedisConnection(topology.redis as SessionRedisOptions);
    try {
      const store = new RedisSessionStore(client, { keyPrefix: `batched-${kind}:`, idleMs: 60_000, touchAfterMs: 10_000, maxDataBytes: 4096, maxSessionsPerUser: null });
      // Sessions spread over every master (random ids: on a Cluster, over its slots); each read
      // once, so the read script is loaded on every master before the measured batch.
      const sessions = Array.from({ length: 30 }, () => newSession());
      for (const session of sessions) {
        await store.create(session);
        await store.find(session.storeId);
      }
      const masters =
        topology.kind === 'cluster' ? await topology.masters() : topology.kind === 'sentinel' ? [await topology.master()] : [topology.node];
      const reads = async () => Promise.all(masters.map(async (m) => Number((await m.info('stats')).total_reads_processed)));
      // What reading the counter costs by itself (a connection of its own, its ready check, INFO).
      const idleStart = await reads();
      const before = await reads();
      const idle = before.map((n, i) => n - idleStart[i]);
      const found = await Promise.all(Array.from({ length: 200 }, (_, i) => store.find(sessions[i % sessions.length].storeId)));
      const after = await reads();
      expect(found.every((f, i) => f?.storeId === sessions[i % sessions.length].storeId)).toBe(true);
      // Per master: the batch, maybe split in two by the kernel, and a replica's or sentinel's own
      // traffic meanwhile (with a write per command: dozens).
      const perMaster = after.map((n, i) => n - before[i] - idle[i]);
      process.stdout.write(`batchWrites on ${kind}: read events per master ${perMaster.join(', ')}\n`);
      expect(Math.max(...perMaster)).toBeLessThanOrEqual(4);
    } finally {
      await client.quit();
    }
  });

  /** Store settings with `WAIT` for one replica within 300 ms, after destroys and, with `writes`, after writes. */
  const durableSettings = (writes: boolean) => ({
    keyPrefix: `durable-${writes ? 'writes-' : ''}${kind}:`,
    idleMs: 60_000,
    touchAfterMs: 10_000,
    maxDataBytes: 4096,
    maxSessionsPerUser: null,
    durability: { replicas: 1, timeoutMs: 300, writes },
  });

  async function withDurableStore(writes: boolean, body: (store: RedisSessionStore, client: Redis) => Promise<void>): Promise<void> {
    const { client } = createRedisConnection(topology.redis as SessionRedisOptions);
    try {
      await body(new RedisSessionStore(client, durableSettings(writes)), client as Redis);
    } finally {
      await client.quit();
    }
  }

  describe('durable destroy (WAIT)', () => {
    const settings = durableSettings(false);
    const withStore = (body: (store: RedisSessionStore) => Promise<void>) => withDurableStore(false, body);

    it(kind === 'standalone' ? 'reports every durable destroy (no replica)' : 'is confirmed by the replica; unconfirmed once that replica is frozen', async () => {
      await withStore(async (store) => {
        const confirmed = newSession({ userId: newUserId() });
        const frozen = newSession({ userId: newUserId() });
        await store.create(confirmed);
        await store.create(frozen);
        // A non-durable destroy (rotation, eviction) never waits.
        expect(await store.destroy(newSession().storeId)).toBe(false);
        if (kind === 'standalone') {
          await expect(store.destroy(confirmed.storeId, { durable: true })).rejects.toBeInstanceOf(SessionDurabilityError);
          expect(await store.find(confirmed.storeId)).toBeNull();
          return;
        }
        expect(await store.destroy(confirmed.storeId, { durable: true })).toBe(true);

        const master = await topology.masterFor(sessionKey(settings.keyPrefix, frozen.storeId));
        const replica =
          topology.kind === 'cluster' ? await topology.replicaOf(master) : await (topology as Extract<Topology, { kind: 'sentinel' }>).replica();
        replica.pause();
        try {
          const error = await store.destroy(frozen.storeId, { durable: true }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(SessionDurabilityError);
          expect(error).toMatchObject({ acknowledged: 0, required: 1, timeoutMs: 300 });
        } finally {
          replica.resume();
        }
        // Deleted on the master all the same, and unlinked from its user.
        expect(await store.find(frozen.storeId)).toBeNull();
        expect(await store.listForUser(frozen.userId!)).toEqual([]);
      });
    });

    if (kind !== 'standalone') {
      it("is not confirmed by a re-send (its first reply lost) on a connection that wrote nothing, while the replica is frozen", async () => {
        await withDurableStore(false, async (store, client) => {
          const session = newSession({ userId: newUserId() });
          await store.create(session);
          const key = sessionKey(settings.keyPrefix, session.storeId);
          // The replica has acknowledged everything this connection wrote so far. Where WAIT counts
          // only a connection's own writes (as documented), a re-send that wrote nothing would then be
          // confirmed at once; the re-send renews the tombstone's expiry so that it never is. Redis
          // 7.0.15 (this machine's) waits for the master's offset even then, so here this passes
          // without that renewal too: it guards the behaviour, not that one line.
          await client.pipeline().exists(key).wait(1, 5_000).exec();
          const master = await topology.masterFor(key);
          const replica =
            topology.kind === 'cluster' ? await topology.replicaOf(master) : await (topology as Extract<Topology, { kind: 'sentinel' }>).replica();
          // The first send ran on the connection that was lost (another one here), and its reply never
          // came; ioredis re-sends the same command on the store's connection, which wrote nothing yet.
          const { client: lost } = createRedisConnection(topology.redis as SessionRedisOptions);
          const lostStore = new RedisSessionStore(lost as Redis, settings) as unknown as Runner;
          // Connected (on a Cluster, with its slot map) before the clock starts: a first command
          // waiting on that under load would time out and fail the test for the wrong reason.
          await (lost as Redis).exists(key);
          const faults = store as unknown as Runner;
          const run = faults.run.bind(store);
          jest.spyOn(faults, 'run').mockImplementation(async (name: string, ...args: unknown[]) => {
            if (name === 'sessionDestroy') await lostStore.run(name, ...args);
            return run(name, ...args);
          });
          replica.pause();
          try {
            const error = await store.destroy(session.storeId, { durable: true }).catch((e: unknown) => e);
            expect(error).toBeInstanceOf(SessionDurabilityError);
            expect(error).toMatchObject({ acknowledged: 0, required: 1 });
          } finally {
            replica.resume();
            jest.restoreAllMocks();
            await lost.quit();
          }
          expect(await store.find(session.storeId)).toBeNull();
        });
      });
    }
  });

  // Cluster refuses durable writes at startup (test/session-module.e2e-spec.ts): nothing to run there.
  if (kind !== 'cluster') describe('durable writes (WAIT after sign-ins, rotations and writes)', () => {
    const withStore = (body: (store: RedisSessionStore, client: Redis) => Promise<void>) => withDurableStore(true, body);

    const unconfirmedWrite = { acknowledged: 0, required: 1, timeoutMs: 300, operation: 'write' };

    /** Every kind of write, each expected to be confirmed or to report `SessionDurabilityError`, and to have happened on the master either way. */
    async function writeEachWay(store: RedisSessionStore, expectConfirmed: boolean): Promise<void> {
      const session = newSession({ userId: newUserId() });
      const { unconfirmed } = await store.create(session);
      if (expectConfirmed) expect(unconfirmed).toBeUndefined();
      else expect(unconfirmed).toMatchObject(unconfirmedWrite);
      expect(await store.find(session.storeId)).not.toBeNull();

      const commit = store.commit(session.storeId, { set: new Map([['step', '2']]), delete: new Set() });
      if (expectConfirmed) expect(await commit).toBe('ok');
      else await expect(commit).rejects.toMatchObject(unconfirmedWrite);
      const increment = store.increment(session.storeId, 'visits', 1);
      if (expectConfirmed) expect(await increment).toBe(1);
      else await expect(increment).rejects.toMatchObject(unconfirmedWrite);
      expect(Object.fromEntries((await store.find(session.storeId))!.data)).toMatchObject({ step: '2', visits: '1' });

      const next = newSession();
      const target = { storeId: next.storeId, handle: next.handle, userId: session.userId, strategy: 'session-id' };
      // Reported as create reports it: the new credential must still go out.
      const rotation = await store.rotate(session.storeId, target, { set: new Map(), delete: new Set() });
      if (expectConfirmed) expect(rotation).toEqual({ evicted: [] });
      else expect(rotation).toEqual({ evicted: [], unconfirmed: expect.objectContaining(unconfirmedWrite) });
      expect(await store.find(session.storeId)).toBeNull();
      expect(await store.find(next.storeId)).not.toBeNull();

      // A refused write wrote nothing and waits for nothing.
      expect(await store.commit(newSession().storeId, { set: new Map([['a', '1']]), delete: new Set() })).toBe('gone');
    }

    it(kind === 'standalone' ? 'reports every write (no replica), each done on the master all the same' : 'is confirmed by the replica; unconfirmed while it is frozen, each write done on the master all the same', async () => {
      await withStore(async (store) => {
        if (kind === 'standalone') return writeEachWay(store, false);
        await writeEachWay(store, true);
        const replica = await (topology as Extract<Topology, { kind: 'sentinel' }>).replica();
        replica.pause();
        try {
          await writeEachWay(store, false);
        } finally {
          replica.resume();
        }
      });
    });

    if (kind === 'sentinel') {
      it('takes no confirmation from a WAIT that reached a new connection', async () => {
        await withStore(async (store, redis) => {
          const session = newSession({ userId: newUserId() });
          expect((await store.create(session)).unconfirmed).toBeUndefined();
          // The connection drops between the write and its WAIT; ioredis reconnects, and a WAIT on
          // the new connection, which carried no write, is answered at once by the healthy replica.
          const wait = redis.wait.bind(redis);
          jest.spyOn(redis, 'wait').mockImplementationOnce((async (replicas: number, timeoutMs: number) => {
            const reconnected = new Promise((resolve) => redis.once('ready', resolve));
            (redis as unknown as { stream: { destroy(): void } }).stream.destroy();
            await reconnected;
            const acknowledged = await wait(replicas, timeoutMs);
            expect(acknowledged).toBe(1);
            return acknowledged;
          }) as never);
          const error = await store.commit(session.storeId, { set: new Map([['step', '3']]), delete: new Set() }).catch((e: unknown) => e);
          expect(error).toMatchObject({ ...unconfirmedWrite, cause: new Error('the connection to Redis was replaced during the write') });
          expect((await store.find(session.storeId))!.data.get('step')).toBe('3');
        });
      });
    }
  });
});
