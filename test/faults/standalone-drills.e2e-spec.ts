/**
 * Fault drills on a standalone Redis, with the demo app (session-id strategy) and the library's
 * shipped client settings. Each drill loads the app with bounded request loops (a read, a write,
 * /health), injects one fault, removes it, waits for the app to recover by itself, then checks the
 * shared invariants (see fault-drill.ts) and what is specific to the fault. The error windows are
 * printed as a table at the end of the file.
 *
 * The main server runs with an append-only file (fsync always), so "killed and restarted" keeps
 * the sessions, while "restarted empty" deletes the file first.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { type DemoApp } from '../support/demo-app.js';
import {
  Probe,
  drillHung,
  drillKilledAndRestarted,
  drillRestartedEmpty,
  expectSafeAnswers,
  failOnProcessErrors,
  hit,
  measure,
  printDrillReport,
  runDrill,
  signedInWithCart,
  standardTasks,
} from '../support/fault-drill.js';
import { freePort, redisClientFor, startRedisServer, trackTempDir } from '../support/redis-server.js';
import { commandOn, sleep, startStandalone, waitFor, type StandaloneTopology } from '../support/redis-topology.js';
import { startDemoOn } from '../support/topology-demo.js';

failOnProcessErrors();

let topology: StandaloneTopology;
let dataDir: string;
let demo: DemoApp;
let admin: Redis;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'redis-aof-'));
  trackTempDir(dataDir);
  topology = await startStandalone(['--dir', dataDir, '--appendonly', 'yes', '--appendfsync', 'always']);
  demo = await startDemoOn(topology.redis, 'session-id', 'drill');
  admin = await topology.node.client();
}, 30_000);

afterAll(async () => {
  printDrillReport('standalone Redis (demo app, session-id strategy, commandTimeout 1000 ms)');
  if (admin?.status === 'ready') await admin.quit();
  else admin?.disconnect();
  await demo?.close();
  await topology?.stop();
});

/** A signed-in client's credential on `app` (default: the file's demo app). */
async function signedIn(app: DemoApp = demo): Promise<string> {
  return signedInWithCart(app, 'drill');
}

async function adminReady(): Promise<Redis> {
  if (admin.status !== 'ready') {
    admin.disconnect();
    admin = await topology.node.client();
  }
  return admin;
}

describe('Redis unavailable at startup', () => {
  it('refused (nothing listening): boots, answers 503 for credentials and 200 without, recovers when Redis appears', async () => {
    const port = await freePort();
    const app = await startDemoOn({ url: `redis://127.0.0.1:${port}` }, 'session-id', 'refused');
    // A well-formed credential that Redis has never seen: it cannot be checked, so it is a 503, never a 401 or a 200.
    const unknown = randomBytes(24).toString('base64url');
    let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
    try {
      const { samples, result } = await runDrill('refused at startup, then Redis started', {
        tasks: [
          { label: 'read', send: () => hit(app, 'GET', '/me', unknown) },
          { label: 'anonymous', send: () => hit(app, 'GET', '/cart') },
          { label: 'health', send: () => hit(app, 'GET', '/health') },
        ],
        inject: () => {},
        baselineMs: 0,
        holdMs: 2_500,
        heal: async () => {
          server = await startRedisServer({ port });
        },
        recover: ['anonymous', 'health'],
      });
      const read = samples.filter((s) => s.label === 'read');
      // Before Redis existed every read was a 503; after, the unknown credential is checked: 401.
      expectSafeAnswers(samples.filter((s) => s.label !== 'read'), { allowed: [200] });
      expectSafeAnswers(read, { allowed: [503, 401] });
      expect(read.slice(0, 3).map((s) => s.status)).toEqual([503, 503, 503]);
      await waitFor('the unknown credential to be checked (401)', async () => (await hit(app, 'GET', '/me', unknown)).status === 401, 10_000);
      expect(result.healthDown).toBe(true);
      expect((await hit(app, 'GET', '/health')).status).toBe(200);
      expect((await signedIn(app)).length).toBeGreaterThan(0);
    } finally {
      await app.close();
      await server?.stop();
    }
  }, 60_000);

  it('unresolvable host (redis.invalid): boots, answers 503 within the timeout, /health 503, no crash', async () => {
    const app = await startDemoOn({ url: 'redis://redis.invalid:6390' }, 'session-id', 'dns');
    const unknown = randomBytes(24).toString('base64url');
    try {
      const probe = new Probe(
        [
          { label: 'read', send: () => hit(app, 'GET', '/me', unknown) },
          { label: 'write', send: () => hit(app, 'PUT', '/cart/x', unknown, { qty: 1 }) },
          { label: 'anonymous', send: () => hit(app, 'GET', '/cart') },
          { label: 'health', send: () => hit(app, 'GET', '/health') },
        ],
        { maxMs: 10_000 },
      );
      await sleep(3_000);
      const samples = await probe.stop();
      const result = measure('unresolvable host at startup (redis.invalid)', samples, { faultAt: 0, note: 'no recovery expected' });
      expectSafeAnswers(samples.filter((s) => s.label === 'read' || s.label === 'write'), { allowed: [503] });
      expectSafeAnswers(samples.filter((s) => s.label === 'anonymous'), { allowed: [200] });
      expect(result.healthDown).toBe(true);
      expect(samples.filter((s) => s.label === 'health').every((s) => s.status === 503)).toBe(true);
    } finally {
      await app.close();
    }
  }, 30_000);

  it('wrong password: every credential answers 503 (never 401 or 200), /health 503, no crash', async () => {
    // (The helper's readiness PING has no password: set it once the server runs.)
    const server = await startRedisServer();
    await commandOn(server.port, ['CONFIG', 'SET', 'requirepass', 'right-password-0123456789']);
    const app = await startDemoOn({ url: `redis://:wrong-password@127.0.0.1:${server.port}` }, 'session-id', 'auth');
    const unknown = randomBytes(24).toString('base64url');
    try {
      const probe = new Probe(
        [
          { label: 'read', send: () => hit(app, 'GET', '/me', unknown) },
          { label: 'login', send: () => hit(app, 'POST', '/auth/login', undefined, { username: 'wrongpw', password: 'demo-password' }) },
          { label: 'anonymous', send: () => hit(app, 'GET', '/cart') },
          { label: 'health', send: () => hit(app, 'GET', '/health') },
        ],
        { maxMs: 10_000 },
      );
      await sleep(3_000);
      const samples = await probe.stop();
      const stats = String(await commandOn(server.port, ['INFO', 'stats'], 2_000, 'right-password-0123456789'));
      const connections = Number(/total_connections_received:(\d+)/.exec(stats)?.[1] ?? NaN);
      const result = measure('wrong password', samples, { faultAt: 0, note: `${connections} connection attempts in ~3 s` });
      expectSafeAnswers(samples.filter((s) => s.label === 'read' || s.label === 'login'), { allowed: [503] });
      expectSafeAnswers(samples.filter((s) => s.label === 'anonymous'), { allowed: [200] });
      expect(result.healthDown).toBe(true);
      // Reconnecting is paced by the retry strategy, not a busy loop.
      expect(connections).toBeLessThan(200);
    } finally {
      await app.close();
      await server.stop();
    }
  }, 30_000);
});

describe('faults while serving', () => {
  it('killed mid-request and restarted (with its AOF): 503 while down, the same session works again after', async () => {
    await drillKilledAndRestarted({ topology, dataDir, demo });
  }, 60_000);

  it('hung (SIGSTOP) and resumed: 503 within the timeout, recovery, and no key left without a TTL', async () => {
    await drillHung({ topology, dataDir, demo });
  }, 60_000);

  // Opt-in, off by default (README "Performance"): without the store's own deadline for such
  // clients, outage answers took up to 2 s.
  it('hung, with ioredis auto-pipelining turned on: still 503 within the timeout, then recovery', async () => {
    const pipelined = await startDemoOn({ url: topology.redis.url, options: { enableAutoPipelining: true } }, 'session-id', 'drill-pipelined');
    try {
      await drillHung({ topology, dataDir, demo: pipelined });
    } finally {
      await pipelined.close();
    }
  }, 60_000);

  it('slow (CLIENT PAUSE 400 ms, then 2500 ms): a short pause only delays, a long one gives 503s, then recovery', async () => {
    const credential = await signedIn();
    const short = await runDrill('slow: CLIENT PAUSE 400 ms ALL', {
      tasks: standardTasks(demo, credential),
      inject: async () => void (await (await adminReady()).call('CLIENT', 'PAUSE', '400', 'ALL')),
      holdMs: 600,
    });
    expectSafeAnswers(short.samples, { allowed: [200] });
    expect(short.result.maxLatencyMs).toBeGreaterThanOrEqual(250);

    const long = await runDrill('slow: CLIENT PAUSE 2500 ms ALL', {
      tasks: standardTasks(demo, credential),
      inject: async () => void (await (await adminReady()).call('CLIENT', 'PAUSE', '2500', 'ALL')),
      holdMs: 2_600,
    });
    expectSafeAnswers(long.samples);
    expect(long.result.errors).toBeGreaterThan(0);
    expect(long.result.healthDown).toBe(true);

    // WRITE pauses block our read path too: load-and-touch is a script that may write (Redis
    // pauses every EVALSHA without a no-writes flag), and the app's one connection queues behind it.
    const writes = await runDrill('slow: CLIENT PAUSE 2500 ms WRITE', {
      tasks: standardTasks(demo, credential),
      inject: async () => void (await (await adminReady()).call('CLIENT', 'PAUSE', '2500', 'WRITE')),
      holdMs: 2_600,
      note: 'reads are scripts that may write: paused too, and so is what queues behind them on the connection',
    });
    expectSafeAnswers(writes.samples);
    expect(writes.result.errors).toBeGreaterThan(0);
  }, 60_000);

  it('connection reset (CLIENT KILL TYPE normal, 3 times): transparent reconnect', async () => {
    const credential = await signedIn();
    const { samples, result } = await runDrill('connection reset (CLIENT KILL x3)', {
      tasks: standardTasks(demo, credential),
      inject: async () => {
        for (let i = 0; i < 3; i++) {
          await (await adminReady()).call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
          await sleep(300);
        }
      },
      holdMs: 0,
    });
    expectSafeAnswers(samples);
    // Reported, not required to be zero: a request in flight at the kill may time out.
    expect(result.errors).toBeLessThanOrEqual(6);
  }, 30_000);

  // jwt and hashed, with a validly signed JWT for a session that never existed: strategy-drills.
  it('restarted empty: the old credential answers 401, not 500 and not 200; new logins work', async () => {
    await drillRestartedEmpty({ topology, dataDir, demo });
  }, 60_000);

  it('memory full without eviction (noeviction): writes answer 503, reads keep working', async () => {
    const credential = await signedIn();
    const redis = await adminReady();
    const { samples, result } = await runDrill('memory full, noeviction (maxmemory 1)', {
      tasks: standardTasks(demo, credential),
      inject: async () => {
        await redis.config('SET', 'maxmemory-policy', 'noeviction');
        await redis.config('SET', 'maxmemory', '1');
      },
      holdMs: 1_500,
      heal: async () => void (await redis.config('SET', 'maxmemory', '0')),
    });
    expectSafeAnswers(samples);
    const during = samples.filter((s) => s.start >= result.firstErrorAfterMs! && s.label === 'read');
    expect(samples.filter((s) => s.label === 'write' && s.status === 503).length).toBeGreaterThan(0);
    // Reads (load + throttled touch) do not need memory: they stayed 200 throughout.
    expect(samples.filter((s) => s.label === 'read').every((s) => s.status === 200)).toBe(true);
    expect(during.length).toBeGreaterThan(0);
    expect(samples.filter((s) => s.status === 503).every((s) => s.body?.includes('unavailable'))).toBe(true);
  }, 30_000);

  it('memory full with eviction (allkeys-lru): an evicted session is a 401 (logged out), never a 500', async () => {
    const credentials = await Promise.all(Array.from({ length: 5 }, () => signedIn()));
    const redis = await adminReady();
    const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    let evicted = 0;
    const { samples } = await runDrill('memory full, allkeys-lru eviction', {
      tasks: [...credentials.map((c, i) => ({ label: `read${i}`, send: () => hit(demo, 'GET', '/me', c) })), { label: 'health', send: () => hit(demo, 'GET', '/health') }],
      inject: async () => {
        await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
        await redis.config('SET', 'maxmemory', String(used + 2 * 1024 * 1024));
        const junk = 'x'.repeat(1024);
        for (let batch = 0; batch < 40; batch++) {
          const pipeline = redis.pipeline();
          for (let i = 0; i < 250; i++) pipeline.set(`junk:${batch}:${i}`, junk);
          await pipeline.exec();
          evicted = Number(/evicted_keys:(\d+)/.exec(await redis.info('stats'))![1]);
          if (evicted > 2_000) break;
        }
      },
      holdMs: 500,
      heal: async () => {
        await redis.config('SET', 'maxmemory', '0');
        await redis.config('SET', 'maxmemory-policy', 'noeviction');
        await redis.flushall();
      },
      recover: ['health'],
      note: 'evicted sessions: 401',
    });
    expect(evicted).toBeGreaterThan(0);
    expectSafeAnswers(samples, { allowed: [200, 401, 503] });
    expect(samples.filter((s) => s.status === 500)).toEqual([]);
  }, 60_000);

  it('READONLY: the node the app uses becomes a replica; 503 within the timeout, recovery when it is master again', async () => {
    const credential = await signedIn();
    const other = await startRedisServer();
    try {
      // Make `other` a copy first, then swap roles, as a failover would.
      const otherClient = await redisClientFor(other);
      await otherClient.call('REPLICAOF', '127.0.0.1', String(topology.node.port));
      await waitFor('copy in sync', async () => /master_link_status:up/.test(await otherClient.info('replication')), 10_000);
      const { samples, result } = await runDrill('READONLY (node turned replica, pinned URL)', {
        tasks: standardTasks(demo, credential),
        inject: async () => {
          await otherClient.call('REPLICAOF', 'NO', 'ONE');
          await (await adminReady()).call('REPLICAOF', '127.0.0.1', String(other.port));
        },
        holdMs: 2_000,
        heal: async () => void (await (await adminReady()).call('REPLICAOF', 'NO', 'ONE')),
      });
      await otherClient.quit();
      expectSafeAnswers(samples);
      expect(result.errors).toBeGreaterThan(0);
      expect(samples.filter((s) => s.status === 503).length).toBeGreaterThan(0);
      expect((await hit(demo, 'GET', '/me', credential)).status).toBe(200);
    } finally {
      await other.stop();
    }
  }, 60_000);
});
