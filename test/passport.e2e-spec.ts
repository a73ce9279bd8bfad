/**
 * @nestjs/passport, as the Nest docs' session chapter uses it (passport-local, PassportSerializer,
 * `req.logIn` in the login guard, `req.isAuthenticated()`), with SessionPassportGuard in place of
 * express-session + passport.session(), end to end over HTTP on a real Redis:
 * - a passport-local login stores the serialized user in our session and rotates its id (the
 *   pre-login cookie stops working; a guest's data is kept, as with every logIn);
 * - `req.user` is deserialized on later requests, the session is indexed under the user's id
 *   (so "your sessions" and "sign out everywhere" work), `@Session()` sees the same session;
 * - a wrong password creates nothing; `req.logout()` destroys the session and clears the cookie;
 * - a cross-origin unsafe request carrying the cookie is refused (the CSRF check of SessionGuard);
 * - another user's login on a signed-in cookie starts a fresh session.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Server } from 'node:http';
import request from 'supertest';
import { SessionService } from '@app/session';
import { startPassportApp } from './fixtures/passport-app.js';
import { cookiesNamed, isClearing, uniquePrefix } from './support/demo-app.js';
import { holdsSession, redisClientFor, startRedisServer, type RedisServerHandle } from './support/redis-server.js';

let server: RedisServerHandle;
let redis: Redis;
let app: INestApplication;
let http: Server;
let prefix: string;

beforeAll(async () => {
  server = await startRedisServer();
  redis = await redisClientFor(server);
  prefix = uniquePrefix('passport');
  ({ app, http } = await startPassportApp(server.url, prefix));
});

afterAll(async () => {
  await app?.close();
  await redis?.quit();
  await server?.stop();
});

/** The `sid` cookie a response set: its value, or 'cleared'; undefined when it set none. */
function sid(res: request.Response): string | undefined {
  const [cookie] = cookiesNamed(res, 'sid');
  if (!cookie) return undefined;
  return isClearing(cookie) ? 'cleared' : cookie.value;
}

const as = (cookie: string | undefined) => (cookie ? { cookie: `sid=${cookie}` } : {});

describe('passport-local login through SessionPassportGuard', () => {
  it('logs in, rotates the id, keeps the guest data, stores the user in our session and indexes it', async () => {
    // A guest visit writes express-session style data, which starts a session.
    const first = await request(http).get('/visits').expect(200);
    expect(first.body).toEqual({ views: 1 });
    const guest = sid(first)!;
    expect(guest).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await request(http).get('/visits').set(as(guest)).expect(200)).body).toEqual({ views: 2 });
    await request(http).get('/profile').set(as(guest)).expect(403);

    const login = await request(http).post('/login').set(as(guest)).send({ username: 'john', password: 'changeme' }).expect(201);
    expect(login.body).toEqual({ userId: 1, username: 'john' });
    const signedIn = sid(login)!;
    expect(signedIn).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(signedIn).not.toBe(guest);

    const profile = await request(http).get('/profile').set(as(signedIn)).expect(200);
    expect(profile.body).toEqual({ user: { userId: 1, username: 'john' }, sessionUserId: '1' });
    expect((await request(http).get('/visits').set(as(signedIn)).expect(200)).body).toEqual({ views: 3 });

    // No fixation: within the rotation grace the pre-login id reads only the guest session it named
    // (no passport user: 403), which is retired in Redis and cannot be changed (409).
    await request(http).get('/profile').set(as(guest)).expect(403);
    await request(http).get('/visits').set(as(guest)).expect(409);
    expect(await redis.hget(`${prefix}{${guest}}`, 'm:r')).not.toBeNull();
    const stored = await redis.hgetall(`${prefix}{${signedIn}}`);
    expect(JSON.parse(stored['d:passport'])).toEqual({ user: { userId: 1, username: 'john' } });
    expect(stored['m:u']).toBe('1');

    const listed = await app.get(SessionService).listForUser('1');
    expect(listed.map((s) => s.handle)).toContain(stored['m:h']);
  });

  it('refuses a wrong password with 401 and stores nothing', async () => {
    const before = await redis.dbsize();
    const res = await request(http).post('/login').send({ username: 'john', password: 'wrong' }).expect(401);
    expect(sid(res)).toBeUndefined();
    expect(await redis.dbsize()).toBe(before);
  });

  it('req.logout() destroys the session and clears the cookie', async () => {
    const login = await request(http).post('/login').send({ username: 'maria', password: 'guess' }).expect(201);
    const cookie = sid(login)!;
    await request(http).get('/profile').set(as(cookie)).expect(200);

    const out = await request(http).post('/logout').set(as(cookie)).expect(200);
    expect(out.body).toEqual({ ok: true });
    expect(sid(out)).toBe('cleared');
    expect(await holdsSession(redis, `${prefix}{${cookie}}`)).toBe(false);
    await request(http).get('/profile').set(as(cookie)).expect(403);
  });

  it('refuses a cross-origin logout carrying the cookie (CSRF), and the session stays', async () => {
    const cookie = sid(await request(http).post('/login').send({ username: 'john', password: 'changeme' }).expect(201))!;
    const forged = await request(http)
      .post('/logout')
      .set({ ...as(cookie), origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' })
      .expect(403);
    expect(forged.body.message).toContain('Cross-origin request refused');
    await request(http).get('/profile').set(as(cookie)).expect(200);
  });

  it("another user's login on a signed-in cookie starts a fresh session without the previous user's data", async () => {
    const john = sid(await request(http).post('/login').send({ username: 'john', password: 'changeme' }).expect(201))!;
    await request(http).get('/visits').set(as(john)).expect(200);
    const maria = sid(await request(http).post('/login').set(as(john)).send({ username: 'maria', password: 'guess' }).expect(201))!;
    expect(maria).not.toBe(john);
    expect((await request(http).get('/profile').set(as(maria)).expect(200)).body.user).toEqual({ userId: 2, username: 'maria' });
    expect((await request(http).get('/visits').set(as(maria)).expect(200)).body).toEqual({ views: 1 });
    expect(await holdsSession(redis, `${prefix}{${john}}`)).toBe(false);
  });
});
