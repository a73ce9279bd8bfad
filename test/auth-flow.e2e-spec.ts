/**
 * Demo app, every strategy: login -> /me -> logout -> 401, bad logins, cookie attributes, and that
 * the app really keeps its sessions in the configured Redis under SESSION_KEY_PREFIX.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  COOKIE_STRATEGIES,
  ISO_8601,
  STRATEGIES,
  cookiesNamed,
  demoEnv,
  isClearing,
  sessionKeyOf,
  uniqueUser,
  type DemoApp,
  type SetCookie,
} from './support/demo-app.js';
import { startDemoApp } from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

const IDLE_S = 600;
const ABSOLUTE_S = 3600;

let redis: SuiteRedis;

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

/** The attributes a clearing cookie must repeat so the browser replaces the same cookie. */
const scope = (c: SetCookie) => ({
  name: c.name,
  path: c.attributes.get('path'),
  domain: c.attributes.get('domain'),
  httpOnly: c.attributes.get('httponly'),
  sameSite: String(c.attributes.get('samesite')).toLowerCase(),
  secure: c.attributes.get('secure'),
});

describe.each(STRATEGIES)('login, /me and logout (%s)', (strategy) => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp(
      demoEnv(redis, strategy, 'auth', { SESSION_IDLE_TTL: String(IDLE_S), SESSION_ABSOLUTE_TTL: String(ABSOLUTE_S) }),
    );
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('logs in, reports the session on /me, logs out (204) and then answers 401', async () => {
    const client = demo.client();
    const user = uniqueUser('alice');
    const before = Date.now();
    const login = await client.login(user);
    const after = Date.now();

    if (strategy === 'jwt') {
      expect(login.body).toEqual({ userId: user, token: expect.any(String) });
      expect(login.headers['set-cookie']).toBeUndefined();
    } else {
      // The cookie strategies never put the credential in a body.
      expect(login.body).toEqual({ userId: user });
    }

    const me = await client.get('/me');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ userId: user, username: user, createdAt: expect.stringMatching(ISO_8601), expiresAt: expect.stringMatching(ISO_8601) });
    const createdAt = Date.parse(me.body.createdAt);
    const expiresAt = Date.parse(me.body.expiresAt);
    expect(createdAt).toBeGreaterThanOrEqual(before - 5);
    expect(createdAt).toBeLessThanOrEqual(after + 5);
    // Idle (600 s) ends first here: expiresAt = last access + idle, well before created + absolute.
    expect(expiresAt).toBeGreaterThanOrEqual(before + IDLE_S * 1000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + IDLE_S * 1000);
    expect(expiresAt).toBeLessThan(createdAt + ABSOLUTE_S * 1000);

    const credential = client.credential!;
    const logout = await client.post('/auth/logout');
    expect(logout.status).toBe(204);
    expect(logout.text).toBe('');

    const again = await client.as(credential).get('/me');
    expect(again.status).toBe(401);
    expect((await client.as(undefined).get('/me')).status).toBe(401);
  });

  it('keeps the session in the configured Redis under SESSION_KEY_PREFIX', async () => {
    const client = demo.client();
    const user = uniqueUser('stored');
    await client.login(user);

    const keys = (await redis.entries(`${demo.prefix}*`)).map((e) => e.key);
    expect(keys).toEqual(expect.arrayContaining([sessionKeyOf(demo, client.credential!), `${demo.prefix}user:{${user}}`]));
  });

  it('answers 401 to a wrong password and stores nothing', async () => {
    const client = demo.client();
    const user = uniqueUser('wrongpw');
    const res = await client.post('/auth/login', { username: user, password: 'not-the-password' });
    expect(res.status).toBe(401);
    expect(res.body.token).toBeUndefined();
    expect(cookiesNamed(res, demo.cookieName).filter((c) => !isClearing(c))).toEqual([]);
    expect(await redis.exists(`${demo.prefix}user:{${user}}`)).toBe(0);
  });

  it.each([
    ['too short', 'ab'],
    ['too long', 'a'.repeat(33)],
    ['punctuation', 'alice!'],
    ['a space', 'al ice'],
    ['non-ASCII', 'émile'],
  ])('answers 400 with the reason to a username with %s', async (_label, username) => {
    const res = await demo.client().post('/auth/login', { username, password: 'demo-password' });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(expect.arrayContaining([expect.stringContaining('username must be 3-32 ASCII letters or digits')]));
  });

  it('answers 400 with the reasons to a login body without a password or with unknown fields', async () => {
    const missing = await demo.client().post('/auth/login', { username: 'alice' });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toEqual(expect.arrayContaining([expect.stringContaining('password')]));

    const extra = await demo.client().post('/auth/login', { username: 'alice', password: 'demo-password', admin: true });
    expect(extra.status).toBe(400);
    expect(extra.body.message).toEqual(expect.arrayContaining([expect.stringContaining('admin')]));
  });

  // The cookie tests below do not apply to jwt (a bearer token in the login body; see jwt.e2e-spec.ts).
  if (strategy === 'jwt') return;

  it('sets the session cookie HttpOnly, SameSite=Lax, Path=/ and without Secure on plain http (COOKIE_SECURE=false)', async () => {
    const client = demo.client();
    const login = await client.login(uniqueUser('flags'));
    const [cookie, ...more] = cookiesNamed(login, 'sid');
    expect(more).toEqual([]);
    expect(cookie.value).toMatch(strategy === 'hashed' ? /^[A-Za-z0-9_-]{43}$/ : /^[A-Za-z0-9_-]{32}$/);
    expect(scope(cookie)).toEqual({ name: 'sid', path: '/', domain: undefined, httpOnly: true, sameSite: 'lax', secure: undefined });
    const maxAge = Number(cookie.attributes.get('max-age'));
    expect(maxAge).toBeGreaterThan(ABSOLUTE_S - 10);
    expect(maxAge).toBeLessThanOrEqual(ABSOLUTE_S);
  });

  it('clears the cookie on logout with Max-Age=0 and the same Path, HttpOnly and SameSite', async () => {
    const client = demo.client();
    const login = await client.login(uniqueUser('clear'));
    const [issued] = cookiesNamed(login, 'sid');

    const logout = await client.post('/auth/logout');
    expect(logout.status).toBe(204);
    const cleared = cookiesNamed(logout, 'sid');
    expect(cleared.length).toBeGreaterThan(0);
    for (const cookie of cleared) {
      expect(cookie.value).toBe('');
      expect(isClearing(cookie)).toBe(true);
      expect(scope(cookie)).toEqual(scope(issued));
    }
  });

  it('clears a cookie that names no live session when /me answers 401', async () => {
    const client = demo.client();
    await client.login(uniqueUser('dead'));
    const credential = client.credential!;
    await client.post('/auth/logout');

    const res = await client.as(credential).get('/me');
    expect(res.status).toBe(401);
    const cleared = cookiesNamed(res, 'sid');
    expect(cleared.length).toBeGreaterThan(0);
    expect(cleared.every(isClearing)).toBe(true);
  });
});

describe.each(COOKIE_STRATEGIES)('cookie flags when COOKIE_SECURE is unset (%s)', (strategy) => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(redis, strategy, 'secure', { COOKIE_SECURE: undefined }));
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('names the cookie __Host-sid and marks it Secure, HttpOnly, SameSite=Lax, Path=/ without Domain', async () => {
    const client = demo.client();
    const login = await client.post('/auth/login', { username: uniqueUser('secure'), password: 'demo-password' });
    expect(login.status).toBe(200);
    const names = (login.headers['set-cookie'] as unknown as string[] | undefined ?? []).map((raw) => raw.split('=')[0]);
    expect(names).toEqual(['__Host-sid']);
    const [cookie] = cookiesNamed(login, '__Host-sid');
    expect(scope(cookie)).toEqual({ name: '__Host-sid', path: '/', domain: undefined, httpOnly: true, sameSite: 'lax', secure: true });

    // The server does not need https to read it back (TLS usually ends at a proxy).
    expect((await client.get('/me')).status).toBe(200);

    const logout = await client.post('/auth/logout');
    expect(logout.status).toBe(204);
    const [cleared] = cookiesNamed(logout, '__Host-sid');
    expect(isClearing(cleared)).toBe(true);
    expect(scope(cleared)).toEqual(scope(cookie));
  });
});
