/**
 * Fault drills on a Redis Cluster (3 masters + 3 replicas, cluster-node-timeout 1000 ms), with the
 * demo app on the library's Cluster client:
 *
 * - a master crash (SIGKILL): 503s for its slots until its replica is promoted, then recovery;
 * - resharding under load (`redis-cli --cluster reshard`): the sessions whose slots move keep
 *   answering 200 through MOVED/ASK redirections (counted from the source node's errorstats);
 * - losing slot coverage (a master and its replica hung): CLUSTERDOWN, so every request is a
 *   bounded 503, also for keys on healthy nodes; recovery once they are back;
 * - no node reachable at startup: bounded 503s (ioredis' Cluster queue alone would hang forever).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sessionKeyOf, type DemoApp } from '../support/demo-app.js';
import {
  expectSafeAnswers,
  failOnProcessErrors,
  hit,
  measure,
  Probe,
  printDrillReport,
  runDrill,
  signedInWithCart,
  standardTasks,
  type ProbeTask,
} from '../support/fault-drill.js';
import { freePort } from '../support/redis-server.js';
import { sleep, startCluster, type ClusterTopology, type RedisNode } from '../support/redis-topology.js';
import { startDemoOn } from '../support/topology-demo.js';

failOnProcessErrors();

let topology: ClusterTopology;
let demo: DemoApp;

beforeAll(async () => {
  topology = await startCluster();
  demo = await startDemoOn(topology.redis, 'session-id', 'cluster-drill');
}, 60_000);

afterAll(async () => {
  printDrillReport('Cluster (3 masters + 3 replicas, cluster-node-timeout 1000 ms)');
  await demo?.close();
  await topology?.stop();
});

async function signedIn(): Promise<string> {
  return signedInWithCart(demo, 'cluster');
}

/** Logs in until `count` sessions live on `master` and satisfy `accept(slot)` (bounded). */
async function sessionsOn(master: RedisNode, count: number, accept: (slot: number) => boolean = () => true): Promise<string[]> {
  const found: string[] = [];
  for (let i = 0; i < 600 && found.length < count; i++) {
    const credential = await signedIn();
    const key = sessionKeyOf(demo, credential);
    if ((await topology.masterFor(key)) === master && accept(await topology.slotOf(key))) found.push(credential);
  }
  if (found.length < count) throw new Error(`only ${found.length} of ${count} sessions landed where wanted`);
  return found;
}

function errorstats(text: string): Record<string, number> {
  return Object.fromEntries([...text.matchAll(/^errorstat_([A-Z]+):count=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}

describe('Cluster faults', () => {
  it('master crash (SIGKILL): 503s for its slots until the replica is promoted, then recovery by itself', async () => {
    const [master] = await topology.masters();
    const [credential] = await sessionsOn(master, 1);
    const replica = await topology.replicaOf(master);
    let promotedAfterMs = 0;
    const { samples, result } = await runDrill('Cluster master crash (SIGKILL), replica promoted', {
      tasks: standardTasks(demo, credential),
      inject: async () => {
        const t0 = Date.now();
        await master.kill();
        for (let i = 0; i < 400 && (await replica.info('replication')).role !== 'master'; i++) await sleep(50);
        promotedAfterMs = Date.now() - t0;
      },
      holdMs: 0,
      recoveryTimeoutMs: 30_000,
    });
    result.note = `replica promoted ${promotedAfterMs} ms after the kill`;
    expectSafeAnswers(samples);
    expect(result.errors).toBeGreaterThan(0);
    expect((await replica.info('replication')).role).toBe('master');
    expect((await hit(demo, 'GET', '/me', credential)).status).toBe(200);
    // The crashed node comes back empty and rejoins as the replica of its former replica.
    await master.restart();
    await topology.waitHealthy();
    expect((await master.info('replication')).role).toBe('slave');
  }, 90_000);

  it('resharding under load: sessions in moving slots keep answering 200 through MOVED/ASK', async () => {
    const [source, target] = await topology.masters();
    const slots = 1_000;
    const [first] = (await topology.slotsOf(source))[0];
    const moving = (slot: number) => slot >= first && slot < first + slots;
    const credentials = await sessionsOn(source, 3, moving);
    const before = errorstats(String(await source.call('INFO', 'errorstats')));
    const tasks: ProbeTask[] = credentials.flatMap((credential, i) => {
      let n = 0;
      return [
        { label: `read${i}`, send: () => hit(demo, 'GET', '/me', credential) },
        { label: `write${i}`, send: () => hit(demo, 'PUT', `/cart/r${n++ % 3}`, credential, { qty: 1 }) },
      ];
    });
    let reshardMs = 0;
    const { samples, result } = await runDrill(`Cluster resharding (${slots} slots) under load`, {
      tasks: [...tasks, { label: 'health', send: () => hit(demo, 'GET', '/health') }],
      inject: async () => {
        const t0 = Date.now();
        await topology.reshard(source, target, slots);
        reshardMs = Date.now() - t0;
      },
      holdMs: 300,
      recover: tasks.map((t) => t.label),
    });
    const after = errorstats(String(await source.call('INFO', 'errorstats')));
    const moved = (after.MOVED ?? 0) - (before.MOVED ?? 0);
    const ask = (after.ASK ?? 0) - (before.ASK ?? 0);
    result.note = `reshard took ${reshardMs} ms; source answered MOVED ${moved}x, ASK ${ask}x`;
    expectSafeAnswers(samples, { allowed: [200] });
    expect(result.errors).toBe(0);
    expect(moved + ask).toBeGreaterThan(0);
    for (const credential of credentials) expect(await topology.masterFor(sessionKeyOf(demo, credential))).toBe(target);
  }, 120_000);

  it('losing slot coverage (a master and its replica hung): CLUSTERDOWN gives bounded 503s everywhere, then recovery', async () => {
    const [down, healthy] = await topology.masters();
    const [onDown] = await sessionsOn(down, 1);
    const [onHealthy] = await sessionsOn(healthy, 1);
    const replica = await topology.replicaOf(down);
    const { samples, result } = await runDrill('Cluster losing slot coverage (shard hung 4 s)', {
      tasks: [
        { label: 'read-down-shard', send: () => hit(demo, 'GET', '/me', onDown) },
        { label: 'read-healthy-shard', send: () => hit(demo, 'GET', '/me', onHealthy) },
        { label: 'health', send: () => hit(demo, 'GET', '/health') },
      ],
      inject: () => {
        down.pause();
        replica.pause();
      },
      holdMs: 4_000,
      heal: () => {
        down.resume();
        replica.resume();
      },
      recover: ['read-down-shard', 'read-healthy-shard'],
      recoveryTimeoutMs: 30_000,
    });
    expectSafeAnswers(samples);
    // Keys on the healthy shard fail too once the cluster declares itself down (full coverage).
    expect(samples.some((s) => s.label === 'read-healthy-shard' && s.status === 503)).toBe(true);
    expect(result.errors).toBeGreaterThan(0);
    await topology.waitHealthy();
  }, 90_000);

  it('no seed reachable at startup: bounded 503s, never a hang; /health 503; anonymous routes still work', async () => {
    const port = await freePort();
    const app = await startDemoOn({ cluster: { nodes: [{ host: '127.0.0.1', port }] } }, 'session-id', 'cluster-refused');
    const unknown = randomBytes(24).toString('base64url');
    try {
      const probe = new Probe(
        [
          { label: 'read', send: () => hit(app, 'GET', '/me', unknown) },
          { label: 'login', send: () => hit(app, 'POST', '/auth/login', undefined, { username: 'clusterdown', password: 'demo-password' }) },
          { label: 'anonymous', send: () => hit(app, 'GET', '/cart') },
          { label: 'health', send: () => hit(app, 'GET', '/health') },
        ],
        { maxMs: 10_000 },
      );
      await sleep(2_500);
      const samples = await probe.stop();
      const result = measure('Cluster: no seed reachable at startup', samples, { faultAt: 0, note: 'no recovery expected' });
      expectSafeAnswers(samples.filter((s) => s.label === 'read' || s.label === 'login'), { allowed: [503] });
      expectSafeAnswers(samples.filter((s) => s.label === 'anonymous'), { allowed: [200] });
      expect(result.healthDown).toBe(true);
    } finally {
      await app.close();
    }
  }, 30_000);
});
