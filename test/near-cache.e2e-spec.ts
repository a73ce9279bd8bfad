/**
 * The near-cache (`cache` option) on a real Redis, with two app instances (A and B) sharing it:
 * - a repeat read is served from memory: 0 Redis commands (INFO commandstats);
 * - a session revoked on A is refused by B on the very next request (invalidation delay measured);
 * - writes on A are seen on B; B's own writes are seen by B (Redis reports them back to B too);
 * - invalidation link killed (CLIENT KILL TYPE pubsub): B's cache is flushed and bypassed until the
 *   link is back, then used again; the same after the main connection is killed;
 * - sliding expiry is still refreshed in Redis (at most once per touchAfter) while reads hit the cache;
 * - the cache is refused on Redis Cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Param, Post, Put, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Cluster, type Redis } from 'ioredis';
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import {
  AllowAnonymous,
  CachedSessionStore,
  Session,
  SessionModule,
  SessionStore,
  type SessionModuleOptions,
  type UserSession,
} from '../libs/session/src/index.js';
import { activityBetween, readCounters, type RedisActivity } from './support/redis-probe.js';
import { redisClientFor, startRedisServer, type RedisServerHandle } from './support/redis-server.js';

type Data = Record<string, unknown>;

@Controller()
class CacheTestController {
  @AllowAnonymous()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { user: string }, @Session() session: UserSession<Data>) {
    await session.logIn(body.user);
    return { userId: body.user };
  }

  @Get('me')
  me(@Session() session: UserSession<Data>) {
    return { userId: session.userId, data: Object.fromEntries(session.keys().map((k) => [k, session.get(k)])) };
  }

  @Put('cart/:sku')
  put(@Param('sku') sku: string, @Body() body: { qty: number }, @Session() session: UserSession<Data>) {
    session.set(`cart:${sku}`, body.qty);
    return { sku };
  }

  @Post('logout')
  @HttpCode(204)
  logout(@Session() session: UserSession<Data>) {
    session.destroy();
  }
}

interface Instance {
  app: INestApplication;
  http: Server;
  store: CachedSessionStore;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function startInstance(options: SessionModuleOptions): Promise<Instance> {
  const moduleRef = await Test.createTestingModule({
    imports: [SessionModule.forRoot(options)],
    controllers: [CacheTestController],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const store = app.get<CachedSessionStore>(SessionStore);
  expect(store).toBeInstanceOf(CachedSessionStore);
  await waitFor('the invalidation link', () => store.stats().state === 'up');
  return { app, http: app.getHttpServer() as Server, store };
}

/** Commands Redis executed, minus the link's heartbeat PINGs (they are not caused by requests). */
function requestCommands(activity: RedisActivity): number {
  return activity.executed - (activity.commands.ping ?? 0);
}

/** Script runs (EVALSHA, or EVAL after a NOSCRIPT the first time a script is used). */
const scriptCalls = (activity: RedisActivity): number => (activity.commands.evalsha ?? 0) + (activity.commands.eval ?? 0);

let server: RedisServerHandle;
let probe: Redis;
let a: Instance;
let b: Instance;
const prefix = `nc-${Date.now().toString(36)}:`;

function options(extra: Partial<SessionModuleOptions> = {}): SessionModuleOptions {
  return {
    // A slow reconnect keeps a killed link down long enough to observe the bypass.
    redis: { url: server.url, options: { retryStrategy: () => 1000 } },
    cookie: { secure: false },
    keyPrefix: prefix,
    guard: 'global',
    cache: { maxEntries: 100, ttlMs: 60_000 },
    ...extra,
  };
}

async function login(app: Instance, user: string): Promise<string> {
  const res = await request(app.http).post('/login').send({ user }).expect(200);
  const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('sid='));
  if (!cookie) throw new Error('no session cookie');
  return cookie.split(';')[0];
}

async function measured<T>(action: () => Promise<T>): Promise<{ result: T; commands: number; activity: RedisActivity }> {
  const before = await readCounters(probe);
  const result = await action();
  const after = await readCounters(probe);
  const activity = activityBetween(before, after);
  return { result, commands: requestCommands(activity), activity };
}

const me = (app: Instance, cookie: string) => request(app.http).get('/me').set('Cookie', cookie);

beforeAll(async () => {
  server = await startRedisServer();
  probe = await redisClientFor(server);
  a = await startInstance(options());
  b = await startInstance(options());
});

afterAll(async () => {
  await a?.app.close();
  await b?.app.close();
  probe?.disconnect();
  await server?.stop();
});

describe('near-cache', () => {
  it('serves a repeat read with 0 Redis commands (the first read costs 1 round trip)', async () => {
    const cookie = await login(a, 'alice');
    const first = await measured(() => me(b, cookie).expect(200));
    expect(scriptCalls(first.activity)).toBe(1);
    const repeat = await measured(() => me(b, cookie).expect(200));
    expect(repeat.result.body.userId).toBe('alice');
    expect(repeat.commands).toBe(0);
    // Served by A too once loaded there.
    await me(a, cookie).expect(200);
    expect((await measured(() => me(a, cookie).expect(200))).commands).toBe(0);
  });

  it('refuses a session revoked on A on the very next request to B, and measures the invalidation delay', async () => {
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const cookie = await login(a, `bob${i}`);
      await me(b, cookie).expect(200);
      expect((await measured(() => me(b, cookie).expect(200))).commands).toBe(0);
      const invalidations = b.store.stats().invalidations;
      const logout = request(a.http).post('/logout').set('Cookie', cookie).expect(204);
      let arrived = 0;
      const watch = (async () => {
        while (b.store.stats().invalidations === invalidations) await new Promise((r) => setImmediate(r));
        arrived = performance.now();
      })();
      await logout;
      const answered = performance.now();
      await me(b, cookie).expect(401);
      await watch;
      delays.push(arrived - answered);
    }
    // Negative: B had dropped the session before A's logout response reached the client.
    // Then the raw link latency: a DEL from a plain client until B has dropped the key.
    const raw: number[] = [];
    for (let i = 0; i < 10; i++) {
      const cookie = await login(a, `bea${i}`);
      await me(b, cookie).expect(200);
      const invalidations = b.store.stats().invalidations;
      const [key] = await probe.keys(`${prefix}{${cookie.slice('sid='.length)}}`);
      const sent = performance.now();
      await probe.del(key);
      while (b.store.stats().invalidations === invalidations) await new Promise((r) => setImmediate(r));
      raw.push(performance.now() - sent);
      await me(b, cookie).expect(401);
    }
    const fmt = (list: number[]) => list.map((d) => d.toFixed(2)).join(', ');
    process.stdout.write(
      `near-cache invalidation: B dropped the session relative to A's logout response (ms): ${fmt(delays)}\n` +
        `near-cache invalidation: DEL sent -> B dropped the key (ms): ${fmt(raw)}\n`,
    );
  });

  it("shows A's writes on B, and B's own writes on B", async () => {
    const cookie = await login(a, 'carol');
    await me(b, cookie).expect(200);
    await request(a.http).put('/cart/book').set('Cookie', cookie).send({ qty: 2 }).expect(200);
    expect((await me(b, cookie).expect(200)).body.data).toEqual({ 'cart:book': 2 });

    // B's write: the read is a cache hit, the delta is the only round trip. Redis reports B's own
    // write back to B as well, so B's next read reloads once and the one after is free again.
    const write = await measured(() => request(b.http).put('/cart/pen').set('Cookie', cookie).send({ qty: 5 }).expect(200));
    expect(scriptCalls(write.activity)).toBe(1);
    expect((await me(b, cookie).expect(200)).body.data).toEqual({ 'cart:book': 2, 'cart:pen': 5 });
    const after = await measured(() => me(b, cookie).expect(200));
    expect(after.result.body.data).toEqual({ 'cart:book': 2, 'cart:pen': 5 });
    expect(after.commands).toBe(0);
    expect((await me(a, cookie).expect(200)).body.data).toEqual({ 'cart:book': 2, 'cart:pen': 5 });
  });

  it('flushes and bypasses the cache while the invalidation link is down, and uses it again once back', async () => {
    const cookie = await login(a, 'dave');
    await me(b, cookie).expect(200);
    expect(b.store.stats().entries).toBeGreaterThan(0);
    const flushes = b.store.stats().flushes;

    await probe.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await waitFor('the link to drop', () => b.store.stats().state === 'down', 2000);
    expect(b.store.stats()).toMatchObject({ entries: 0, flushes: flushes + 1 });

    // Bypassed: every read goes to Redis, so a change made meanwhile on A is seen at once.
    expect((await measured(() => me(b, cookie).expect(200))).commands).toBeGreaterThan(0);
    expect((await measured(() => me(b, cookie).expect(200))).commands).toBeGreaterThan(0);
    await request(a.http).put('/cart/lamp').set('Cookie', cookie).send({ qty: 1 }).expect(200);
    expect((await me(b, cookie).expect(200)).body.data).toEqual({ 'cart:lamp': 1 });
    await request(a.http).post('/logout').set('Cookie', cookie).expect(204);
    await me(b, cookie).expect(401);
    expect(b.store.stats().state).toBe('down');

    await waitFor('the link to come back', () => b.store.stats().state === 'up' && a.store.stats().state === 'up', 5000);
    const again = await login(a, 'dave2');
    await me(b, again).expect(200);
    expect((await measured(() => me(b, again).expect(200))).commands).toBe(0);
    await request(a.http).post('/logout').set('Cookie', again).expect(204);
    await me(b, again).expect(401);
  });

  it('re-enables tracking after the main connection reconnects', async () => {
    const cookie = await login(a, 'erin');
    await me(b, cookie).expect(200);
    await probe.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await waitFor('the link to drop', () => b.store.stats().state === 'down', 2000);
    await waitFor('the link to come back', () => b.store.stats().state === 'up' && a.store.stats().state === 'up', 5000);
    await me(b, cookie).expect(200);
    expect((await measured(() => me(b, cookie).expect(200))).commands).toBe(0);
    await request(a.http).put('/cart/cup').set('Cookie', cookie).send({ qty: 3 }).expect(200);
    expect((await me(b, cookie).expect(200)).body.data).toEqual({ 'cart:cup': 3 });
    await request(a.http).post('/logout').set('Cookie', cookie).expect(204);
    await me(b, cookie).expect(401);
  });
});

describe('near-cache and sliding expiry', () => {
  let c: Instance;

  beforeAll(async () => {
    c = await startInstance(options({ ttl: { idle: 2, absolute: 60 }, touchAfter: 1, keyPrefix: `${prefix}slide:` }));
  });

  afterAll(async () => {
    await c?.app.close();
  });

  it('keeps a busy session alive past its idle TTL, touching Redis at most once per touchAfter', async () => {
    const cookie = await login(c, 'frank');
    const key = (await probe.keys(`${prefix}slide:{*`))[0];
    const started = Date.now();
    const { activity } = await measured(async () => {
      for (let i = 0; i < 20; i++) {
        await me(c, cookie).expect(200); // 4 s of reads, twice the idle TTL
        await sleep(200);
      }
    });
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(await probe.pttl(key)).toBeGreaterThan(0);
    // About one touch per touchAfter (1 s), each followed by one reload (Redis reports the touch as a
    // change of the key): about 8 script runs for 20 reads, and never one per read.
    const touches = activity.commands.pexpireat ?? 0;
    expect(touches).toBeGreaterThanOrEqual(3);
    expect(touches).toBeLessThanOrEqual(seconds + 1);
    expect(scriptCalls(activity)).toBeLessThanOrEqual(2 * (seconds + 1));
    expect(c.store.stats().hits).toBeGreaterThanOrEqual(20 - 2 * (seconds + 1));
  });
});

describe('near-cache and the rotation grace', () => {
  const GRACE_MS = 800;
  let c: Instance;
  let d: Instance;

  beforeAll(async () => {
    const shared = options({ rotationGraceMs: GRACE_MS, keyPrefix: `${prefix}grace:` });
    c = await startInstance(shared);
    d = await startInstance(shared);
  });

  afterAll(async () => {
    await c?.app.close();
    await d?.app.close();
  });

  it('serves a credential rotated on A read-only on B (from its cache on a repeat), and refuses it once the grace is over', async () => {
    const old = await login(c, 'gina');
    await me(d, old).expect(200);
    const relogin = await request(c.http).post('/login').set('Cookie', old).send({ user: 'gina' }).expect(200);
    const rotatedAt = Date.now();
    expect(([] as string[]).concat(relogin.headers['set-cookie'] ?? []).some((c) => c.startsWith('sid=') && !c.startsWith(old))).toBe(true);

    // B dropped its copy on the rotation's invalidation, loads the retired session once, then serves it from the cache.
    const reload = await measured(() => me(d, old).expect(200));
    expect(scriptCalls(reload.activity)).toBe(1);
    const repeat = await measured(() => me(d, old).expect(200));
    expect(repeat.commands).toBe(0);
    expect(repeat.result.body.userId).toBe('gina');
    await request(d.http).put('/cart/x').set('Cookie', old).send({ qty: 1 }).expect(409);
    expect(Date.now() - rotatedAt).toBeLessThan(GRACE_MS);

    await sleep(rotatedAt + GRACE_MS + 20 - Date.now());
    await me(d, old).expect(401);
  });
});

describe('near-cache with app-provided clients that have an ioredis keyPrefix', () => {
  const clientPrefix = 'tenant7:';
  const clients: Redis[] = [];
  let c: Instance;
  let d: Instance;

  beforeAll(async () => {
    const instance = async () => {
      const client = await redisClientFor(server, { keyPrefix: clientPrefix });
      clients.push(client);
      return startInstance({ ...options(), redis: { client }, keyPrefix: `${prefix}tenant:` });
    };
    c = await instance();
    d = await instance();
  });

  afterAll(async () => {
    await c?.app.close();
    await d?.app.close();
    for (const client of clients) client.disconnect();
  });

  it("drops exactly the changed session on the other instance: Redis's keys carry both prefixes", async () => {
    const cookie = await login(c, 'gina');
    await me(d, cookie).expect(200);
    expect((await measured(() => me(d, cookie).expect(200))).commands).toBe(0);
    const before = d.store.stats();
    // Written around the app (a plain client, the full key): only Redis's invalidation can tell D.
    const [key] = await probe.keys(`${clientPrefix}${prefix}tenant:{${cookie.slice('sid='.length)}}`);
    expect(key).toBeDefined();
    await probe.hset(key as string, 'probe', '1');
    await waitFor('the invalidation', () => d.store.stats().invalidations > before.invalidations);
    // One entry dropped by its store id, not the whole cache emptied for a key it could not place.
    expect(d.store.stats()).toMatchObject({ flushes: before.flushes, entries: before.entries - 1 });
    const reload = await measured(() => me(d, cookie).expect(200));
    expect(scriptCalls(reload.activity)).toBe(1);

    await request(c.http).post('/logout').set('Cookie', cookie).expect(204);
    await me(d, cookie).expect(401);
  });
});

describe('near-cache on Redis Cluster', () => {
  it('is refused at startup with a clear message, for an app-provided Cluster client too', async () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    try {
      await expect(
        Test.createTestingModule({
          imports: [SessionModule.forRoot({ redis: { client: cluster }, cache: { maxEntries: 10 } })],
        }).compile(),
      ).rejects.toThrow(/cache is not supported on Redis Cluster/);
      await expect(
        Test.createTestingModule({
          imports: [SessionModule.forRoot({ redis: { cluster: { nodes: [{ host: '127.0.0.1', port: 1 }] } }, cache: {} })],
        }).compile(),
      ).rejects.toThrow(/cache is not supported on Redis Cluster/);
    } finally {
      cluster.disconnect();
    }
  });
});
