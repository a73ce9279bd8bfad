/**
 * LOADING: a Redis that is up but still loading its dataset answers `-LOADING` to every data
 * command. The drills make that window long on purpose, without a big dataset: the server runs
 * with the hidden `key-load-delay` config (microseconds per key loaded, present in Redis 7.0) over
 * a few thousand filler keys (`DEBUG POPULATE`, local only), and processes events every 1 KiB of
 * input (`loading-process-events-interval-bytes`), so it answers while it loads instead of
 * staying silent.
 *
 * - restart: SIGKILL, then the same server starts again from its append-only file (fsync always,
 *   RDB preamble holding the filler). The app's new connection sees `loading:1` in the ready check
 *   and queues its commands, so requests time out into 503s; they must never be 500, 401 or
 *   anonymous, and the session must be intact once loaded, with the last acknowledged write.
 *   Every loop must answer 200 again within RECOVERY_BOUND_MS of the server reporting the load
 *   over: ioredis' ready check sleeps for the server's `loading_eta_seconds` (capped only by
 *   `maxLoadingRetryTime`, 10 s by default) before it looks again, and an early estimate is wild.
 * - `DEBUG RELOAD`: the same window on a connection that is already ready, so the app receives the
 *   `-LOADING` error replies themselves.
 *
 * The loading window is read from the server's own `INFO persistence` (polled without a ready
 * check, which INFO passes while loading) and compared with the error window the clients saw.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { type DemoApp, type StrategyName } from '../support/demo-app.js';
import {
  ANONYMOUS_200,
  Probe,
  expectSafeAnswers,
  failOnProcessErrors,
  hit,
  measure,
  printDrillReport,
  signedInWithCart,
  standardTasks,
  type ProbeTask,
} from '../support/fault-drill.js';
import { trackTempDir } from '../support/redis-server.js';
import { commandOn, sleep, startStandalone, waitFor, type StandaloneTopology } from '../support/redis-topology.js';
import { startDemoOn } from '../support/topology-demo.js';

failOnProcessErrors();

/** Filler keys and per-key delay: about 2-3 s of loading on a 2-core box (usleep overhead dominates). */
const FILLER_KEYS = 20_000;
const KEY_LOAD_DELAY_US = 50;
const BULK_VALUES = 80;
/** After the server reports the load over, every loop must answer 200 again within this. */
const RECOVERY_BOUND_MS = 1_500;

let topology: StandaloneTopology;
let demo: DemoApp;
/** The other strategies read through the same outage (one loop each). */
const others: Partial<Record<StrategyName, { app: DemoApp; credential: string }>> = {};

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'redis-loading-'));
  trackTempDir(dataDir);
  topology = await startStandalone([
    '--dir', dataDir,
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--aof-use-rdb-preamble', 'yes',
    '--key-load-delay', String(KEY_LOAD_DELAY_US),
    '--loading-process-events-interval-bytes', '1024',
    '--enable-debug-command', 'local',
  ]);
  // The filler goes into the AOF's RDB base (the rewrite), where key-load-delay applies.
  await topology.node.call('DEBUG', 'POPULATE', FILLER_KEYS, 'filler');
  await topology.node.call('BGREWRITEAOF');
  await waitFor('the AOF rewrite', async () => {
    const info = await topology.node.info('persistence');
    return info.aof_rewrite_in_progress === '0' && info.aof_rewrite_scheduled === '0' && info.aof_last_bgrewrite_status === 'ok';
  });
  // After the base: 8 MB of plain commands in the incremental AOF, which load at full speed. Early in
  // a load, `loading_eta_seconds` extrapolates the slow start over every byte still to come: a
  // large estimate (real datasets load unevenly too), which a client may take as its wait.
  const bulk = await topology.node.client();
  try {
    const value = 'b'.repeat(100 * 1024);
    const pipeline = bulk.pipeline();
    for (let i = 0; i < BULK_VALUES; i++) pipeline.set(`bulk:${i}`, value);
    await pipeline.exec();
  } finally {
    await bulk.quit();
  }
  demo = await startDemoOn(topology.redis, 'session-id', 'loading');
  for (const strategy of ['jwt', 'hashed'] as const) {
    const app = await startDemoOn(topology.redis, strategy, `loading-${strategy}`);
    others[strategy] = { app, credential: await signedInWithCart(app, 'loading') };
  }
}, 60_000);

afterAll(async () => {
  printDrillReport(`LOADING (standalone, ${FILLER_KEYS} filler keys, key-load-delay ${KEY_LOAD_DELAY_US} us, commandTimeout 1000 ms)`);
  await demo?.close();
  for (const other of Object.values(others)) await other.app.close();
  await topology?.stop();
});

/**
 * Polls `INFO persistence` every 25 ms on fresh connections without a ready check (ioredis'
 * ready check would wait for the load to end) and records, in probe time, when the server was
 * first seen loading and first seen loaded after that.
 */
function watchLoading(port: number, probe: Probe) {
  const seen: { loadingFrom?: number; loadedAt?: number; polls: number; etas: number[] } = { polls: 0, etas: [] };
  let stopped = false;
  const done = (async () => {
    const deadline = Date.now() + 40_000;
    while (!stopped && Date.now() < deadline && seen.loadedAt === undefined) {
      const client = new Redis({
        host: '127.0.0.1',
        port,
        lazyConnect: true,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 500,
        commandTimeout: 500,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        const info = await client.info('persistence');
        const loading = /^loading:(\d)/m.exec(info)?.[1];
        seen.polls++;
        const eta = /^loading_eta_seconds:(\d+)/m.exec(info)?.[1];
        if (loading === '1' && eta !== undefined) seen.etas.push(Number(eta));
        if (loading === '1') seen.loadingFrom ??= probe.now();
        else if (loading === '0' && seen.loadingFrom !== undefined) seen.loadedAt = probe.now();
      } catch {
        // Not listening yet (restart) or busy: poll again.
      } finally {
        client.disconnect();
      }
      await sleep(25);
    }
  })();
  return {
    seen,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

function tasksFor(credential: string): ProbeTask[] {
  return [
    ...standardTasks(demo, credential),
    ...Object.entries(others).map(([strategy, other]) => ({ label: `read-${strategy}`, send: () => hit(other.app, 'GET', '/me', other.credential) })),
  ];
}

/** The cart after the drill: the seed and the last write acknowledged before the fault are there. */
async function expectCartIntact(credential: string, sku: string, qty: number): Promise<void> {
  const cart = await hit(demo, 'GET', '/cart', credential);
  expect(cart.status).toBe(200);
  const items = (JSON.parse(cart.body) as { items: Array<{ sku: string; qty: number }> }).items;
  expect(items).toEqual(expect.arrayContaining([{ sku: 'seed', qty: 1 }, { sku, qty }]));
}

describe('LOADING', () => {
  it('after a restart from the AOF: 503 with Retry-After while loading (never 500, 401 or anonymous), the session intact once loaded', async () => {
    const credential = await signedInWithCart(demo, 'loading');
    const acknowledged = await hit(demo, 'PUT', '/cart/before-crash', credential, { qty: 7 });
    expect(acknowledged.status).toBe(200);

    const probe = new Probe(tasksFor(credential), { maxMs: 40_000 });
    await sleep(300);
    const faultAt = probe.mark('fault');
    await topology.node.kill();
    const watch = watchLoading(topology.node.port, probe);
    // The helper's restart resolves once its own PING passes a ready check, which waits like the
    // app's client does: so it is not the moment the data is back. The server's INFO says that.
    const restarted = topology.node.restart();
    restarted.catch(() => {});
    let recoveredAt = 0;
    try {
      const loadedAt = await waitFor('the load to be seen ending', async () => watch.seen.loadedAt, 30_000);
      for (const label of ['read', 'write', 'cart', 'read-jwt', 'read-hashed']) {
        recoveredAt = Math.max(recoveredAt, await probe.waitFor(label, 200, { since: loadedAt, timeoutMs: 20_000 }));
      }
    } finally {
      await watch.stop();
      await probe.stop();
      await restarted;
    }
    const { loadingFrom, loadedAt } = watch.seen;
    const samples = probe.samples;
    const result = measure('LOADING after SIGKILL + restart (AOF)', samples, {
      faultAt,
      healedAt: loadedAt,
      recoveredAt,
      note: `loading seen ${loadingFrom}-${loadedAt} ms (${(loadedAt ?? 0) - (loadingFrom ?? 0)} ms), largest loading_eta_seconds ${Math.max(0, ...watch.seen.etas)} s; recovery counted from loaded`,
    });

    expectSafeAnswers(samples);
    expect(samples.filter((s) => s.status === ANONYMOUS_200 || s.status === 401)).toEqual([]);
    // The window is real: the server said it was loading for a while, and what was asked then failed.
    expect(loadingFrom).toBeDefined();
    expect(loadedAt! - loadingFrom!).toBeGreaterThanOrEqual(1_000);
    // Recovery by itself, and soon: once the data is loaded nothing is wrong any more.
    expect(result.recoveryMs).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
    // Every loop, health included, got 503s for what it asked while the server was loading.
    for (const label of ['read', 'write', 'cart', 'read-jwt', 'read-hashed', 'health']) {
      const failedDuringLoad = samples.filter((s) => s.label === label && s.start >= loadingFrom! && s.start < loadedAt! && s.status === 503);
      expect([label, failedDuringLoad.length > 0]).toEqual([label, true]);
    }
    expect(result.healthDown).toBe(true);
    await expectCartIntact(credential, 'before-crash', 7);
    for (const other of Object.values(others)) expect((await hit(other.app, 'GET', '/me', other.credential)).status).toBe(200);
  }, 60_000);

  it('DEBUG RELOAD on a live connection: the -LOADING replies themselves are 503 with Retry-After, then the same session answers 200', async () => {
    const credential = await signedInWithCart(demo, 'reload');
    expect((await hit(demo, 'PUT', '/cart/before-reload', credential, { qty: 3 })).status).toBe(200);

    const probe = new Probe(tasksFor(credential), { maxMs: 40_000 });
    await sleep(300);
    const faultAt = probe.mark('fault');
    const watch = watchLoading(topology.node.port, probe);
    // Blocks its own connection until the reload is done (save, then load with the delay).
    await commandOn(topology.node.port, ['DEBUG', 'RELOAD'], 30_000);
    const healedAt = probe.mark('reloaded');
    let recoveredAt = 0;
    try {
      for (const label of ['read', 'write', 'cart', 'read-jwt', 'read-hashed']) {
        recoveredAt = Math.max(recoveredAt, await probe.waitFor(label, 200, { since: healedAt, timeoutMs: 20_000 }));
      }
    } finally {
      await watch.stop();
      await probe.stop();
    }
    const { loadingFrom, loadedAt } = watch.seen;
    const samples = probe.samples;
    const failed = samples.filter((s) => s.label !== 'health' && s.status === 503);
    const result = measure('LOADING on a ready connection (DEBUG RELOAD)', samples, {
      faultAt,
      healedAt,
      recoveredAt,
      note: `loading seen ${loadingFrom}-${loadedAt ?? healedAt} ms; slowest 503 ${Math.max(0, ...failed.map((s) => s.end - s.start))} ms`,
    });

    expectSafeAnswers(samples);
    expect(samples.filter((s) => s.status === ANONYMOUS_200 || s.status === 401)).toEqual([]);
    expect(loadingFrom).toBeDefined();
    expect(result.errors).toBeGreaterThan(0);
    expect(result.healthDown).toBe(true);
    await expectCartIntact(credential, 'before-reload', 3);
  }, 60_000);
});
