/**
 * CSRF defence for cookie sessions, on both platforms: an unsafe request that a browser marks as
 * coming from another origin (Sec-Fetch-Site, or Origin vs Host) is a 403 with the reason, before
 * any Redis call; safe methods, same-origin requests, trusted origins and non-browser clients (no
 * Origin, no Sec-Fetch-Site, as every other e2e suite sends) pass. Off by default for bearer JWTs.
 * (Real cross-origin requests from a browser are covered by the browser suite.)
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Module, Post, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AllowAnonymous, Session, SessionModule, type SessionModuleOptions, type UserSession } from '@app/session';
import { createHttpAdapter, type DemoHttpAdapterName } from '../src/http-adapter.js';
import { cookiesNamed, demoEnv, startDemoApp, uniquePrefix, uniqueUser, type DemoApp } from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

const ADAPTERS: readonly DemoHttpAdapterName[] = ['express', 'fastify'];
const EVIL = 'https://evil.example';
const LOGIN = { username: 'csrfvictim', password: 'demo-password' };
const CONNECTION_COMMANDS = new Set(['hello', 'client', 'select', 'ping', 'info', 'subscribe', 'ssubscribe']);

let redis: SuiteRedis;

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describe.each(ADAPTERS)('cross-origin requests to the demo on %s (session-id)', (adapter) => {
  let demo: DemoApp;
  let self: string;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(redis, 'session-id', `csrf-${adapter}`, { HTTP_ADAPTER: adapter }));
    self = `http://127.0.0.1:${(demo.http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('refuses a cross-site login (login CSRF) with 403 and the reason, before any Redis call', async () => {
    const { result, activity } = await redis.activityDuring(demo.prefix, () =>
      demo.client().send('post', '/auth/login', LOGIN, { Origin: EVIL, 'Sec-Fetch-Site': 'cross-site' }),
    );
    expect(result.status).toBe(403);
    expect(result.body.message).toBe(
      `Cross-origin request refused (CSRF protection): Sec-Fetch-Site is "cross-site" and Origin "${EVIL}" is not trusted`,
    );
    expect(result.headers['set-cookie']).toBeUndefined();
    // Connection set-up of the app's clients (HELLO, CLIENT SETNAME...) may land in the window; no session command may.
    const commands = Object.keys(activity.commands).filter((name) => !CONNECTION_COMMANDS.has(name));
    expect(commands).toEqual([]);
  });

  it('refuses unsafe requests of a signed-in browser from another site, and changes nothing', async () => {
    const client = demo.client();
    await client.login(uniqueUser('csrf'));
    expect((await client.put('/cart/book', { qty: 1 })).status).toBe(200);

    const forged = { 'Sec-Fetch-Site': 'cross-site', Origin: EVIL };
    expect((await client.send('put', '/cart/book', { qty: 999 }, forged)).status).toBe(403);
    expect((await client.send('delete', '/cart/book', undefined, forged)).status).toBe(403);
    expect((await client.send('delete', '/sessions', undefined, forged)).status).toBe(403);
    expect((await client.send('post', '/auth/logout', undefined, forged)).status).toBe(403);
    // An older browser without Sec-Fetch-Site: the Origin alone decides.
    const old = await client.send('put', '/cart/book', { qty: 998 }, { Origin: EVIL });
    expect(old.status).toBe(403);
    expect(old.body.message).toBe(`Cross-origin request refused (CSRF protection): Origin "${EVIL}" is neither this site nor a trusted origin`);
    // same-site (a sibling subdomain) is another origin too.
    expect((await client.send('put', '/cart/book', { qty: 997 }, { 'Sec-Fetch-Site': 'same-site' })).status).toBe(403);

    expect((await client.get('/cart')).body).toEqual({ items: [{ sku: 'book', qty: 1 }] });
    expect((await client.get('/me')).status).toBe(200);
  });

  it('lets safe methods, same-origin requests, typed URLs and non-browser clients through', async () => {
    const client = demo.client();
    await client.login(uniqueUser('ok'));
    expect((await client.send('get', '/cart', undefined, { 'Sec-Fetch-Site': 'cross-site', Origin: EVIL })).status).toBe(200);
    expect((await client.send('put', '/cart/a', { qty: 1 }, { 'Sec-Fetch-Site': 'same-origin', Origin: self })).status).toBe(200);
    expect((await client.send('put', '/cart/b', { qty: 1 }, { Origin: self })).status).toBe(200);
    expect((await client.send('put', '/cart/c', { qty: 1 }, { 'Sec-Fetch-Site': 'none' })).status).toBe(200);
    expect((await client.put('/cart/d', { qty: 1 })).status).toBe(200);
    expect((await client.get('/cart')).body.items).toHaveLength(4);

    const login = await demo.client().send('post', '/auth/login', LOGIN, { 'Sec-Fetch-Site': 'same-origin', Origin: self });
    expect(login.status).toBe(200);
    expect(cookiesNamed(login, demo.cookieName)).toHaveLength(1);
  });
});

describe('cross-origin requests to the demo with bearer JWTs', () => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(redis, 'jwt', 'csrf-jwt'));
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('does not check: a browser never attaches an Authorization header by itself', async () => {
    const res = await demo.client().send('post', '/auth/login', LOGIN, { 'Sec-Fetch-Site': 'cross-site', Origin: EVIL });
    expect(res.status).toBe(200);
  });
});

@AllowAnonymous({ guests: true })
@Controller('notes')
class NotesController {
  @Post()
  add(@Session() session: UserSession<{ note: string }>) {
    session.set('note', 'hi');
    return { ok: true };
  }
}

describe.each(ADAPTERS)('csrf options on %s', (adapter) => {
  const apps: INestApplication[] = [];

  async function start(options: Partial<SessionModuleOptions>): Promise<INestApplication> {
    @Module({
      imports: [
        SessionModule.forRoot({
          redis: redis.redis,
          keyPrefix: uniquePrefix(`csrf-opt-${adapter}`),
          cookie: { secure: false },
          guard: 'global',
          ...options,
        }),
      ],
      controllers: [NotesController],
    })
    class NotesModule {}
    const moduleRef = await Test.createTestingModule({ imports: [NotesModule] }).compile();
    const app = moduleRef.createNestApplication(createHttpAdapter(adapter), { logger: ['error'] });
    await app.init();
    if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
    apps.push(app);
    return app;
  }

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  it('lets trustedOrigins through and refuses the others', async () => {
    const app = await start({ csrf: { trustedOrigins: ['https://admin.example.com'] } });
    const post = (headers: Record<string, string>) => request(app.getHttpServer()).post('/notes').set(headers);
    expect((await post({ 'Sec-Fetch-Site': 'cross-site', Origin: 'https://admin.example.com' })).status).toBe(201);
    expect((await post({ Origin: 'https://admin.example.com' })).status).toBe(201);
    expect((await post({ 'Sec-Fetch-Site': 'cross-site', Origin: EVIL })).status).toBe(403);
    expect((await post({ 'Sec-Fetch-Site': 'cross-site', Origin: 'https://admin.example.com.evil.example' })).status).toBe(403);
  });

  it('checks nothing with csrf: false', async () => {
    const app = await start({ csrf: false });
    const res = await request(app.getHttpServer()).post('/notes').set({ 'Sec-Fetch-Site': 'cross-site', Origin: EVIL });
    expect(res.status).toBe(201);
  });
});
