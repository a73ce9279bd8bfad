/**
 * The core of the demo e2e suite on every Redis topology (standalone, Sentinel, Cluster) and every
 * strategy: login, /me, logout, rotation, parallel cart writes and "sign out everywhere else".
 * Assertions read the topology's own state: a destroyed session's key is gone from the master that
 * owns its slot, and every key the app wrote has a TTL.
 *
 * One topology at a time (started in beforeAll), shared by the three strategies' apps, each with
 * its own key prefix.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { STRATEGIES, sessionKeyOf, uniqueUser, type Client, type DemoApp } from './support/demo-app.js';
import { failOnProcessErrors } from './support/fault-drill.js';
import { TOPOLOGY_KINDS, startTopology, type Topology } from './support/redis-topology.js';
import { holdsSession } from './support/redis-server.js';
import { startDemoOn } from './support/topology-demo.js';

failOnProcessErrors();

const SKUS = Array.from({ length: 20 }, (_, i) => `item-${String(i).padStart(2, '0')}`);

describe.each(TOPOLOGY_KINDS)('demo app on %s Redis', (kind) => {
  let topology: Topology;

  beforeAll(async () => {
    topology = await startTopology(kind);
  }, 60_000);

  afterAll(async () => {
    await topology?.stop();
  });

  /** Whether the session key of `credential` holds a session on the master that owns it (a tombstone is none). */
  async function keyExists(demo: DemoApp, credential: string): Promise<boolean> {
    const key = sessionKeyOf(demo, credential);
    return holdsSession(await topology.masterFor(key), key);
  }

  describe.each(STRATEGIES)('%s strategy', (strategy) => {
    let demo: DemoApp;

    beforeAll(async () => {
      demo = await startDemoOn(topology.redis, strategy, `topo-${kind}`);
    });

    afterAll(async () => {
      await demo?.close();
    });

    it('logs in, answers /me, logs out; the old credential then answers 401 and its key is gone', async () => {
      const client = demo.client();
      const user = uniqueUser('topo');
      await client.login(user);
      const credential = client.credential!;
      expect(await keyExists(demo, credential)).toBe(true);

      const me = await client.get('/me');
      expect(me.status).toBe(200);
      expect(me.body.userId).toBe(user);

      expect((await client.post('/auth/logout')).status).toBe(204);
      expect((await client.as(credential).get('/me')).status).toBe(401);
      expect(await keyExists(demo, credential)).toBe(false);
    });

    it('rotates the credential on login; the previous one is retired for the grace and ends with the new one', async () => {
      const client = demo.client();
      const user = uniqueUser('rotate');
      let before: string;
      if (strategy === 'jwt') {
        // No guest sessions with jwt: a second login of the same user rotates the session.
        await client.login(user);
        before = client.credential!;
      } else {
        expect((await client.put('/cart/apple', { qty: 2 })).status).toBe(200);
        before = client.credential!;
      }
      expect(before).toBeDefined();
      await client.login(user);
      expect(client.credential).not.toBe(before);
      expect((await client.get('/me')).status).toBe(200);
      if (strategy !== 'jwt') expect((await client.get('/cart')).body).toEqual({ items: [{ sku: 'apple', qty: 2 }] });
      // Within the rotation grace the old credential reads its own old session (a guest is still
      // not signed in) and cannot change it.
      expect(await keyExists(demo, before)).toBe(true);
      expect((await client.as(before).get('/me')).status).toBe(strategy === 'jwt' ? 200 : 401);
      expect((await client.as(before).put('/cart/pear', { qty: 1 })).status).toBe(409);
      // Ending the new session ends the retired one (another slot on Cluster) at once.
      expect((await client.post('/auth/logout')).status).toBe(204);
      expect(await keyExists(demo, before)).toBe(false);
      expect((await client.as(before).get('/me')).status).toBe(401);
    });

    it('keeps all of 20 parallel cart writes to one session', async () => {
      const client = demo.client();
      await client.login(uniqueUser('cart'));
      const answers = await Promise.all(SKUS.map((sku, i) => client.put(`/cart/${sku}`, { qty: i + 1 })));
      expect(answers.map((r) => r.status)).toEqual(SKUS.map(() => 200));
      const items = (await client.get('/cart')).body.items as Array<{ sku: string; qty: number }>;
      expect(items).toEqual(SKUS.map((sku, i) => ({ sku, qty: i + 1 })));
    });

    it('signs out everywhere else: the other sessions answer 401, this one keeps working', async () => {
      const user = uniqueUser('others');
      const clients: Client[] = [];
      for (let i = 0; i < 3; i++) {
        const client = demo.client(`device-${i}`);
        await client.login(user);
        clients.push(client);
      }
      const [keeper, ...others] = clients;
      const otherCredentials = others.map((c) => c.credential!);
      expect((await keeper.delete('/sessions')).status).toBe(204);

      for (const credential of otherCredentials) {
        expect((await keeper.as(credential).get('/me')).status).toBe(401);
        expect(await keyExists(demo, credential)).toBe(false);
      }
      expect((await keeper.get('/me')).status).toBe(200);
      const listed = (await keeper.get('/sessions')).body.sessions as Array<{ current: boolean }>;
      expect(listed).toEqual([expect.objectContaining({ current: true })]);
    });

    it('left no key of this app without a TTL', async () => {
      const ours = (await topology.allEntries()).filter((e) => e.key.startsWith(demo.prefix));
      expect(ours.length).toBeGreaterThan(0);
      expect(ours.filter((e) => e.ttlMs <= 0).map((e) => `${e.key} ${e.ttlMs}`)).toEqual([]);
    });
  });
});
