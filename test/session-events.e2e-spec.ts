/**
 * Lifecycle events through @nestjs/event-emitter, on Redis and on the memory store: created,
 * rotated, destroyed, revoked from the library's own code paths, and expired from the deadline
 * sweeper (never keyspace notifications). Payloads name the session by handle, never by credential.
 * Also: the sweeper adds nothing to the read path, several app instances report each expiry once,
 * a destroyed session is never reported as expired, and the library runs without the event module.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, Param, Post, Put, type INestApplication } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import request from 'supertest';
import {
  AllowAnonymous,
  SESSION_EVENTS,
  Session,
  SessionExpirySweeper,
  SessionModule,
  SessionService,
  type SessionModuleOptions,
  type UserSession,
} from '@app/session';
import { cookiesNamed, isClearing, sleep, uniquePrefix } from './support/demo-app.js';
import { roundTripsDuring } from './support/redis-probe.js';
import { redisClientFor, startRedisServer, type RedisServerHandle } from './support/redis-server.js';

interface Emitted {
  name: string;
  payload: Record<string, unknown>;
}

@Controller()
class EventsController {
  @AllowAnonymous({ guests: true })
  @Put('data')
  put(@Session() session: UserSession<{ n: number }>) {
    session.set('n', 1);
    return { id: session.id };
  }

  @AllowAnonymous()
  @Post('login/:user')
  async login(@Param('user') user: string, @Session() session: UserSession) {
    await session.logIn(user);
    return { id: session.id };
  }

  @Post('logout')
  logout(@Session() session: UserSession) {
    session.destroy();
  }

  @Get('me')
  me(@Session() session: UserSession) {
    return { id: session.id, userId: session.userId };
  }
}

interface Started {
  app: INestApplication;
  events: Emitted[];
  sweeper: SessionExpirySweeper;
  service: SessionService;
  /** Sends a request with `cookie`, returns the response and the cookie to use next. */
  send(method: 'get' | 'put' | 'post', path: string, cookie?: string): Promise<{ status: number; body: Record<string, unknown>; cookie?: string }>;
}

const apps: INestApplication[] = [];

async function start(options: SessionModuleOptions, withEvents = true): Promise<Started> {
  @Module({
    imports: [
      ...(withEvents ? [EventEmitterModule.forRoot()] : []),
      SessionModule.forRoot({ cookie: { secure: false }, guard: 'global', ...options }),
    ],
    controllers: [EventsController],
  })
  class EventsModule {}
  const moduleRef = await Test.createTestingModule({ imports: [EventsModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.init();
  apps.push(app);
  const events: Emitted[] = [];
  if (withEvents) app.get(EventEmitter2).onAny((name, payload) => events.push({ name: String(name), payload: payload as Record<string, unknown> }));
  return {
    app,
    events,
    sweeper: app.get(SessionExpirySweeper),
    service: app.get(SessionService),
    send: async (method, path, cookie) => {
      let req = request(app.getHttpServer())[method](path);
      if (cookie) req = req.set('Cookie', `sid=${cookie}`);
      const res = await req;
      const last = cookiesNamed(res, 'sid').at(-1);
      return { status: res.status, body: res.body, cookie: last ? (isClearing(last) ? undefined : last.value) : cookie };
    },
  };
}

/** Sweeps until `count` expiries were reported or 10 s passed (Redis expires keys by itself, on its own clock). */
async function sweepUntil(started: Started, count: number): Promise<Emitted[]> {
  const expired = () => started.events.filter((e) => e.name === SESSION_EVENTS.expired);
  for (const deadline = Date.now() + 10_000; expired().length < count && Date.now() < deadline; ) {
    await started.sweeper.sweepNow();
    if (expired().length < count) await sleep(100);
  }
  return expired();
}

let server: RedisServerHandle;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = await redisClientFor(server);
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const STORES = ['redis', 'memory'] as const;
const storeOptions = (store: (typeof STORES)[number], label: string): SessionModuleOptions =>
  store === 'redis' ? { redis: { url: server.url }, keyPrefix: uniquePrefix(label) } : { store: 'memory' };

describe.each(STORES)('lifecycle events (%s store)', (store) => {
  it('reports created, rotated, destroyed in a request flow, with handles and never the credential', async () => {
    const s = await start({ ...storeOptions(store, 'flow'), expiryEvents: true });
    const guest = await s.send('put', '/data');
    const guestId = guest.body.id;
    const login = await s.send('post', '/login/alice', guest.cookie);
    const replaced = await s.send('post', '/login/bob', login.cookie);
    const logout = await s.send('post', '/logout', replaced.cookie);
    expect(logout.status).toBe(201);

    const shape = s.events.map((e) => ({ name: e.name, ...e.payload, at: typeof e.payload.at }));
    expect(shape).toEqual([
      { name: 'session.created', id: guestId, userId: null, strategy: 'session-id', at: 'number' },
      { name: 'session.rotated', id: login.body.id, previousId: guestId, userId: 'alice', strategy: 'session-id', at: 'number' },
      { name: 'session.destroyed', id: login.body.id, userId: 'alice', reason: 'replaced', at: 'number' },
      { name: 'session.created', id: replaced.body.id, userId: 'bob', strategy: 'session-id', at: 'number' },
      { name: 'session.destroyed', id: replaced.body.id, userId: 'bob', reason: 'logout', at: 'number' },
    ]);
    const text = JSON.stringify(s.events);
    for (const credential of [guest.cookie, login.cookie, replaced.cookie]) expect(text).not.toContain(credential!);
  });

  it('reports revocations from SessionService and maxSessionsPerUser evictions', async () => {
    const s = await start({ ...storeOptions(store, 'revoke'), maxSessionsPerUser: 2 });
    const a = await s.service.create('carol');
    const b = await s.service.create('carol');
    const c = await s.service.create('carol'); // evicts a
    expect(await s.service.destroy(b.token)).toBe(true);
    const d = await s.service.create('carol');
    expect(await s.service.destroyById('carol', d.id)).toBe(true);
    const e = await s.service.create('carol');
    expect(await s.service.destroyAllForUser('carol', { except: e.id })).toBe(1); // c

    const revoked = s.events.filter((x) => x.name === SESSION_EVENTS.revoked).map((x) => [x.payload.id, x.payload.reason]);
    expect(revoked).toEqual([
      [a.id, 'limit'],
      [b.id, 'token'],
      [d.id, 'id'],
      [c.id, 'all'],
    ]);
    expect(s.events.filter((x) => x.name === SESSION_EVENTS.created).map((x) => x.payload.id)).toEqual([a.id, b.id, c.id, d.id, e.id]);
    const text = JSON.stringify(s.events);
    for (const issued of [a, b, c, d, e]) expect(text).not.toContain(issued.token);
  });

  it('reports a maxSessionsPerUser eviction by a sign-in that rotates a guest session; the evicted one answers 401 at once, near-cache or not', async () => {
    const cache = store === 'redis' ? { cache: { maxEntries: 100, ttlMs: 60_000 } } : {};
    const s = await start({ ...storeOptions(store, 'rotate-limit'), maxSessionsPerUser: 1, ...cache });
    const older = await s.service.create('frank');
    // Read once, so the near-cache holds it when the sign-in evicts it.
    expect((await s.send('get', '/me', older.token)).status).toBe(200);
    const guest = await s.send('put', '/data');
    const login = await s.send('post', '/login/frank', guest.cookie);
    expect(login.status).toBe(201);
    expect((await s.send('get', '/me', older.token)).status).toBe(401);

    const revoked = s.events.filter((x) => x.name === SESSION_EVENTS.revoked).map((x) => [x.payload.id, x.payload.userId, x.payload.reason]);
    expect(revoked).toEqual([[older.id, 'frank', 'limit']]);
    expect((await s.service.listForUser('frank')).map((info) => info.handle)).toEqual([login.body.id]);
  });

  it('reports an idle expiry once, from the sweeper', async () => {
    const s = await start({ ...storeOptions(store, 'idle'), ttl: { idle: 1, absolute: 600 }, expiryEvents: { intervalSeconds: 3600 } });
    const issued = await s.service.create('dave');
    const expired = await sweepUntil(s, 1);
    expect(expired.map((e) => ({ ...e.payload, at: 0 }))).toEqual([{ id: issued.id, userId: 'dave', reason: 'idle', at: 0 }]);
    await s.sweeper.sweepNow();
    expect(s.events.filter((e) => e.name === SESSION_EVENTS.expired)).toHaveLength(1);
  });

  it('reports an absolute expiry as such, and a guest session with userId null', async () => {
    const s = await start({ ...storeOptions(store, 'absolute'), ttl: { idle: 1, absolute: 1 }, expiryEvents: true });
    const guest = await s.send('put', '/data');
    const expired = await sweepUntil(s, 1);
    expect(expired.map((e) => [e.payload.id, e.payload.userId, e.payload.reason])).toEqual([[guest.body.id, null, 'absolute']]);
  });

  it('never reports a destroyed session as expired', async () => {
    const s = await start({ ...storeOptions(store, 'destroyed'), ttl: { idle: 1, absolute: 600 }, expiryEvents: true });
    const kept = await s.service.create('erin');
    const gone = await s.service.create('erin');
    await s.service.destroy(gone.token);
    const expired = await sweepUntil(s, 1);
    expect(expired.map((e) => e.payload.id)).toEqual([kept.id]);
    await sleep(300);
    await s.sweeper.sweepNow();
    expect(s.events.filter((e) => e.name === SESSION_EVENTS.expired).map((e) => e.payload.id)).toEqual([kept.id]);
  });

  it('works without @nestjs/event-emitter in the app: no events, sessions as usual', async () => {
    const s = await start({ ...storeOptions(store, 'no-events'), expiryEvents: true }, false);
    const guest = await s.send('put', '/data');
    expect((await s.send('get', '/me', guest.cookie)).status).toBe(200);
    await expect(s.sweeper.sweepNow()).resolves.toBe(0);
  });
});

describe('expiry tracking on Redis', () => {
  it('adds no command to a read: GET with a session is still one round trip', async () => {
    const s = await start({ redis: { url: server.url }, keyPrefix: uniquePrefix('reads'), expiryEvents: true });
    const login = await s.send('post', '/login/frank');
    await s.send('get', '/me', login.cookie); // warm-up: first EVALSHA may be a NOSCRIPT + EVAL
    const { result, roundTrips } = await roundTripsDuring(redis, () => s.send('get', '/me', login.cookie));
    expect(result.status).toBe(200);
    expect(roundTrips.map((c) => c.name)).toEqual(['evalsha']);
  });

  it('moves a live session whose first deadline passed to its current one instead of reporting it', async () => {
    const prefix = uniquePrefix('slide');
    const s = await start({ redis: { url: server.url }, keyPrefix: prefix, ttl: { idle: 600, absolute: 3600 }, expiryEvents: true });
    const issued = await s.service.create('gina');
    const [storeId] = await redis.zrange(`${prefix}deadlines:{d0}`, 0, '-1');
    const first = Number(await redis.zscore(`${prefix}deadlines:{d0}`, storeId));
    // As if the session had been read long after its first deadline: the entry is due, the key alive.
    await redis.zadd(`${prefix}deadlines:{d0}`, 1, storeId);
    await s.sweeper.sweepNow();
    expect(s.events.filter((e) => e.name === SESSION_EVENTS.expired)).toEqual([]);
    const moved = Number(await redis.zscore(`${prefix}deadlines:{d0}`, storeId));
    expect(moved).toBeGreaterThan(Date.now() + 500_000);
    expect(Math.abs(moved - first)).toBeLessThan(60_000);
    expect((await s.service.get(issued.token))?.id).toBe(issued.id);
  });

  it('reports each expiry once when several app instances sweep the same Redis', async () => {
    const keyPrefix = uniquePrefix('instances');
    const options: SessionModuleOptions = { redis: { url: server.url }, keyPrefix, ttl: { idle: 1, absolute: 600 }, expiryEvents: { shards: 4 } };
    const [one, two] = [await start(options), await start(options)];
    const issued = await Promise.all(Array.from({ length: 20 }, (_, i) => one.service.create(`user${i}`)));
    const all = () => [...one.events, ...two.events].filter((e) => e.name === SESSION_EVENTS.expired);
    for (const deadline = Date.now() + 10_000; all().length < 20 && Date.now() < deadline; ) {
      await Promise.all([one.sweeper.sweepNow(), two.sweeper.sweepNow()]);
      await sleep(100);
    }
    await Promise.all([one.sweeper.sweepNow(), two.sweeper.sweepNow()]);
    expect(all().map((e) => e.payload.id).sort()).toEqual(issued.map((i) => i.id).sort());
    // The deadline sets are empty again (and carry a TTL, so they never outlive their sessions for long).
    for (let shard = 0; shard < 4; shard++) {
      expect(await redis.zcard(`${keyPrefix}deadlines:{d${shard}}`)).toBe(0);
    }
  });

  it('gives the deadline sets a TTL past the last absolute deadline they hold', async () => {
    const keyPrefix = uniquePrefix('ttl');
    const s = await start({ redis: { url: server.url }, keyPrefix, ttl: { idle: 60, absolute: 120 }, expiryEvents: true });
    await s.service.create('hank');
    for (const key of [`${keyPrefix}deadlines:{d0}`, `${keyPrefix}deadlines:{d0}:meta`]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(120_000);
      expect(ttl).toBeLessThanOrEqual(120_000 + 24 * 3600_000);
    }
  });
});
