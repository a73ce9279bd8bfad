/**
 * The SessionStore contract on every Redis topology the library supports: a standalone server, a
 * Sentinel set (1 master, 1 replica, 3 sentinels) and a Cluster (3 masters + 3 replicas). The store
 * gets its client from the library's own factory (`createRedisConnection`), so the shipped client
 * settings are what is tested. One topology per describe block, started in beforeAll.
 *
 * Then `durability` (WAIT after a durable destroy) on each: it must run on the connection of the
 * node that deleted the key, so freezing exactly that node's replica must make it fail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisConnection } from '../src/redis/redis-client.factory.js';
import { SessionDurabilityError } from '../src/session.errors.js';
import { sessionKey } from '../src/store/redis-schema.js';
import { RedisSessionStore } from '../src/store/redis-session.store.js';
import type { SessionRedisOptions } from '../src/options/session-options.interface.js';
import { TOPOLOGY_KINDS, startTopology, type Topology } from '../../../test/support/redis-topology.js';
import { describeSessionStoreContract, newSession, newUserId } from './session-store.contract.js';

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
  describe('durable destroy (WAIT)', () => {
    const settings = {
      keyPrefix: `durable-${kind}:`,
      idleMs: 60_000,
      touchAfterMs: 10_000,
      maxDataBytes: 4096,
      maxSessionsPerUser: null,
      durability: { replicas: 1, timeoutMs: 300 },
    };

    async function withStore(body: (store: RedisSessionStore) => Promise<void>): Promise<void> {
      const { client } = createRedisConnection(topology.redis as SessionRedisOptions);
      try {
        await body(new RedisSessionStore(client, settings));
      } finally {
        await client.quit();
      }
    }

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
  });
});
