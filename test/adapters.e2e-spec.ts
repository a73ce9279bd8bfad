/**
 * The demo's core HTTP contract on both platforms, as nestjs/throttler runs its e2e suite per
 * adapter: login/me/logout, rotation of a guest cart on login, the cart, "your sessions", 401, 413,
 * 503 and /health. The library reads cookies from the Cookie header and writes them through
 * ResponseWriter (Express `res.append`, Fastify `reply.header`), so nothing here is Express-only.
 * (E2E_HTTP_ADAPTER=fastify runs every other demo suite on Fastify too.)
 *
 * Also: several Set-Cookie headers in one response (a dead cookie cleared and a new one issued), and
 * the app's own cookies set through the platform (Express `res.cookie`, @fastify/cookie
 * `reply.setCookie`) next to the session cookie.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fastifyCookie from '@fastify/cookie';
import { Controller, Module, Post, Res, type INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AllowAnonymous, Session, SessionModule, type SessionCommitMode, type UserSession } from '@app/session';
import { createHttpAdapter, type DemoHttpAdapterName } from '../src/http-adapter.js';
import {
  cookiesNamed,
  demoEnv,
  isClearing,
  setCookies,
  sleep,
  startDemoApp,
  uniquePrefix,
  uniqueUser,
  type Client,
  type DemoApp,
} from './support/demo-app.js';
import { startRedisServer, type RedisServerHandle } from './support/redis-server.js';
import { startSuiteRedis, suiteTopologyKind, type SuiteRedis } from './support/suite-redis.js';

/**
 * Each platform under both commit modes, named: `'on-send'` is what the default, `'auto'`, gives the
 * demo (it has no gateways or GraphQL resolvers); `'interceptor'` what an app with them gets.
 */
interface Platform {
  readonly label: string;
  readonly adapter: DemoHttpAdapterName;
  readonly commit: SessionCommitMode;
}
const PLATFORMS: readonly Platform[] = [
  { label: 'express', adapter: 'express', commit: 'interceptor' },
  { label: 'fastify', adapter: 'fastify', commit: 'interceptor' },
  { label: 'express, commit on-send', adapter: 'express', commit: 'on-send' },
  { label: 'fastify, commit on-send', adapter: 'fastify', commit: 'on-send' },
];
const platformEnv = ({ adapter, commit }: Platform) => ({ HTTP_ADAPTER: adapter, SESSION_COMMIT: commit });
const slug = ({ adapter, commit }: Platform) => `${adapter}-${commit}`;
const MAX_DATA_BYTES = 2048;

let redis: SuiteRedis;

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describe.each(PLATFORMS)('demo core on $label', (platform) => {
  const { adapter } = platform;
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp(
      demoEnv(redis, 'session-id', `core-${slug(platform)}`, { ...platformEnv(platform), SESSION_MAX_DATA_BYTES: String(MAX_DATA_BYTES) }),
    );
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('runs on the platform it was asked for', () => {
    expect(demo.app.getHttpAdapter().getType()).toBe(adapter);
  });

  it('logs in (one HttpOnly cookie), answers /me, logs out (204, cookie cleared), then 401', async () => {
    const client = demo.client();
    const user = uniqueUser('core');
    const login = await client.login(user);
    expect(login.body).toEqual({ userId: user });
    const issued = cookiesNamed(login, demo.cookieName);
    expect(issued).toHaveLength(1);
    expect(issued[0].attributes.get('httponly')).toBe(true);
    expect(String(issued[0].attributes.get('samesite')).toLowerCase()).toBe('lax');

    const me = await client.get('/me');
    expect(me.status).toBe(200);
    expect(me.body.userId).toBe(user);

    const credential = client.credential!;
    const logout = await client.post('/auth/logout');
    expect(logout.status).toBe(204);
    expect(cookiesNamed(logout, demo.cookieName).map(isClearing)).toEqual([true]);

    const after = await client.as(credential).get('/me');
    expect(after.status).toBe(401);
    expect(cookiesNamed(after, demo.cookieName).map(isClearing)).toEqual([true]);
    expect((await demo.client().get('/me')).status).toBe(401);
  });

  it('keeps a guest cart through login with a new cookie; the old one reads the guest session, read-only, and is left alone', async () => {
    const client = demo.client();
    expect((await client.put('/cart/apple', { qty: 2 })).status).toBe(200);
    const guest = client.credential!;
    expect(guest).toBeDefined();
    await client.login(uniqueUser('rotate'));
    expect(client.credential).not.toBe(guest);
    expect((await client.get('/cart')).body).toEqual({ items: [{ sku: 'apple', qty: 2 }] });
    // Within the rotation grace: still the guest (not signed in), no write, no cookie either way.
    const answers = [await client.as(guest).get('/me'), await client.as(guest).get('/cart'), await client.as(guest).put('/cart/pear', { qty: 1 })];
    expect(answers.map((r) => r.status)).toEqual([401, 200, 409]);
    for (const answer of answers) expect(cookiesNamed(answer, demo.cookieName)).toEqual([]);
    expect((await client.get('/cart')).body).toEqual({ items: [{ sku: 'apple', qty: 2 }] });
  });

  it('keeps every item of parallel cart writes, lists them in order, deletes with 204; 400 for a bad sku', async () => {
    const client = demo.client();
    await client.login(uniqueUser('cart'));
    const skus = ['b', 'a', 'C', '9'];
    const puts = await Promise.all(skus.map((sku, i) => client.as(client.credential).put(`/cart/${sku}`, { qty: i + 1 })));
    expect(puts.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await client.get('/cart')).body.items.map((i: { sku: string }) => i.sku)).toEqual(['9', 'C', 'a', 'b']);
    expect((await client.delete('/cart/a')).status).toBe(204);
    expect((await client.get('/cart')).body.items).toHaveLength(3);
    expect((await client.put('/cart/a.b', { qty: 1 })).status).toBe(400);
    expect((await client.put('/cart/ok', { qty: 1000 })).status).toBe(400);
  });

  it('lists "your sessions", revokes one by handle and all others; a long unknown handle is a 404', async () => {
    const user = uniqueUser('devices');
    const [phone, laptop, tablet] = [demo.client('phone'), demo.client('laptop'), demo.client('tablet')];
    for (const c of [phone, laptop, tablet]) await c.login(user);
    const listed = (await laptop.get('/sessions')).body.sessions as Array<{ handle: string; userAgent: string; current: boolean }>;
    expect(listed.map((s) => s.userAgent).sort()).toEqual(['laptop', 'phone', 'tablet']);
    expect(listed.filter((s) => s.current).map((s) => s.userAgent)).toEqual(['laptop']);

    const phoneHandle = listed.find((s) => s.userAgent === 'phone')!.handle;
    expect((await laptop.delete(`/sessions/${phoneHandle}`)).status).toBe(204);
    expect((await phone.get('/me')).status).toBe(401);
    // Fastify's default 100-character parameter limit would answer 414 here (src/http-adapter.ts).
    expect((await laptop.delete(`/sessions/${'a'.repeat(200)}`)).status).toBe(404);

    expect((await laptop.delete('/sessions')).status).toBe(204);
    expect((await tablet.get('/me')).status).toBe(401);
    expect((await laptop.get('/me')).status).toBe(200);
  });

  it('answers 413 naming the key to a note over the size limit and keeps the old note', async () => {
    const client = demo.client();
    await client.login(uniqueUser('note'));
    expect((await client.put('/profile/note', { text: 'short' })).status).toBe(200);
    const res = await client.put('/profile/note', { text: 'x'.repeat(MAX_DATA_BYTES + 10) });
    expect(res.status).toBe(413);
    expect(res.body.message).toContain('note');
    expect((await client.get('/profile/note')).body).toEqual({ text: 'short' });
  });

  it('sends two Set-Cookie headers in one response: the dead cookie cleared, then a new guest cookie', async () => {
    const dead = demo.client().as('A'.repeat(32));
    const res = await dead.put('/cart/pear', { qty: 1 });
    expect(res.status).toBe(200);
    const ours = cookiesNamed(res, demo.cookieName);
    expect(ours.map(isClearing)).toEqual([true, false]);
    expect(ours[1].value).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await dead.get('/cart')).body).toEqual({ items: [{ sku: 'pear', qty: 1 }] });
  });

  it('answers /health with 200 while the store answers', async () => {
    const res = await demo.client().get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', info: { session: { status: 'up' } } });
  });
});

// Standalone only: it kills a private server; Sentinel and Cluster outages are the drills in test/faults/.
if (suiteTopologyKind() === 'standalone') describe.each(PLATFORMS)('store outage on $label', (platform) => {
  let own: RedisServerHandle;
  let demo: DemoApp;
  let client: Client;

  beforeAll(async () => {
    own = await startRedisServer();
    demo = await startDemoApp(demoEnv(own.url, 'session-id', `outage-${slug(platform)}`, platformEnv(platform)));
    client = demo.client();
    await client.login(uniqueUser('outage'));
  });

  afterAll(async () => {
    // Back up (and reconnected) first: closing a client whose server is gone leaves ioredis timers
    // behind that keep Jest alive.
    await own?.restart();
    for (const deadline = Date.now() + 8000; Date.now() < deadline && (await demo.client().get('/health')).status !== 200; ) await sleep(100);
    await demo?.close();
    await own?.stop();
  });

  it('answers 503 with Retry-After (cookie kept) and /health 503 while Redis is down', async () => {
    await own.kill9();
    const [me, health] = await Promise.all([client.get('/me'), demo.client().get('/health')]);
    expect({ status: me.status, retryAfter: me.headers['retry-after'] }).toEqual({ status: 503, retryAfter: '1' });
    expect(cookiesNamed(me, demo.cookieName)).toEqual([]);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'error', error: { session: { status: 'down' } } });
  });
});

/** A route that sets an app cookie through the platform's own API and writes the session. */
@AllowAnonymous({ guests: true })
@Controller('prefs')
class PrefsController {
  @Post()
  save(@Session() session: UserSession<{ theme: string }>, @Res({ passthrough: true }) res: Record<string, (...args: unknown[]) => unknown>) {
    if (typeof res.setCookie === 'function') res.setCookie('theme', 'dark', { path: '/' }); // @fastify/cookie
    else res.cookie('theme', 'dark', { path: '/' }); // Express
    session.set('theme', 'dark');
    return { ok: true };
  }
}

describe.each(PLATFORMS)("the app's own cookies next to the session cookie on $label", (platform) => {
  const { adapter, commit } = platform;
  let app: INestApplication;

  beforeAll(async () => {
    @Module({
      imports: [
        SessionModule.forRoot({
          commit,
          redis: redis.redis,
          keyPrefix: uniquePrefix(`prefs-${slug(platform)}`),
          cookie: { secure: false },
          guard: 'global',
        }),
      ],
      controllers: [PrefsController],
    })
    class PrefsModule {}
    const moduleRef = await Test.createTestingModule({ imports: [PrefsModule] }).compile();
    app = moduleRef.createNestApplication(createHttpAdapter(adapter), { logger: ['error'] });
    if (adapter === 'fastify') await (app as NestFastifyApplication).register(fastifyCookie);
    await app.init();
    if (adapter === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('sends both the app cookie and the session cookie', async () => {
    const res = await request(app.getHttpServer()).post('/prefs');
    expect(res.status).toBe(201);
    const names = setCookies(res).map((c) => c.name).sort();
    expect(names).toEqual(['sid', 'theme']);
    expect(setCookies(res).find((c) => c.name === 'sid')?.attributes.get('httponly')).toBe(true);
  });
});
