/**
 * Hostile input, part 4: races. Logout racing a slow write, two regenerations of one id, requests
 * in flight during rotation (with the default rotation grace and without one), "sign out
 * everywhere" racing a login, and maxSessionsPerUser under parallel logins, against the demo (plus a fixture controller with deliberately slow handlers,
 * mounted in the demo's module so the demo's global guard and interceptor apply).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { AllowAnonymous, Session, type UserSession } from '@app/session';
import { DEMO_PASSWORD, sessionKeyOf, sleep, uniqueUser, type Client, type DemoApp } from '../support/demo-app.js';
import { REPLACED, SESSION_ENDED, REJECTED, World, escapeRegExp, send, userIndexKeyOf, type BootOptions } from './harness.js';
import { holdsSession } from '../support/redis-server.js';

const world = new World();
const STRATEGIES = ['session-id', 'hashed', 'jwt'] as const;
const SLOW_MS = 400;
/** Time given to a slow request to pass the guard (load its session) before the racing request starts. */
const HEAD_START_MS = 150;

/** Handlers that take their time: the race partner runs meanwhile. */
@Controller('slow')
class SlowController {
  @AllowAnonymous({ guests: true })
  @Put('cart/:sku')
  async put(@Param('sku') sku: string, @Query('ms') ms: string, @Session() session: UserSession<Record<string, number>>) {
    await sleep(Number(ms));
    session.set(`cart:${sku}`, 1);
    return { sku };
  }

  @Get('me')
  async me(@Query('ms') ms: string, @Session() session: UserSession) {
    await sleep(Number(ms));
    return { userId: session.userId };
  }

  /** Checks the password and calls logIn() at once, then takes `ms` before the session is saved. */
  @AllowAnonymous()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { username: string; password: string }, @Query('ms') ms: string, @Session() session: UserSession) {
    if (body.password !== DEMO_PASSWORD) return { error: 'wrong password' };
    await session.logIn(body.username);
    session.set('username', body.username);
    await sleep(Number(ms));
    return { userId: body.username, token: session.token };
  }
}

beforeAll(async () => {
  await world.start();
});

afterEach(async () => {
  await world.checkInvariants();
});

afterAll(async () => {
  await world.stop();
});

/**
 * Store ids of the user's session hashes (scanned): live ones, and retired ones (`m:r`, kept
 * read-only for the rotation grace) with the session that retired them; and the members of the
 * user's index.
 */
async function sessionsOf(demo: DemoApp, user: string): Promise<{ live: string[]; retired: string[]; indexed: string[]; successors: Map<string, string> }> {
  const pattern = new RegExp(`^${escapeRegExp(demo.prefix)}\\{([A-Za-z0-9_-]+)\\}$`);
  const live: string[] = [];
  const retired: string[] = [];
  const successors = new Map<string, string>();
  for (const [key, entry] of await world.snapshot()) {
    const id = pattern.exec(key)?.[1];
    if (!id || entry.type !== 'hash') continue;
    const [owner, retiredUntil, previous] = await world.admin.hmget(key, 'm:u', 'm:r', 'm:p');
    if (previous) successors.set(previous, id);
    if (owner === user) (retiredUntil ? retired : live).push(id);
  }
  const members = await world.admin.zrange(userIndexKeyOf(demo, user), 0, '-1');
  return { live: live.sort(), retired: retired.sort(), indexed: members.map((m) => m.slice(m.indexOf('.') + 1)).sort(), successors };
}

/**
 * Every live session of the user is in the user's index, and every retired one is named by an
 * indexed session, whose end ends it: "sign out everywhere" reaches them all. Returns the live ones.
 */
async function expectNoOrphans(demo: DemoApp, user: string): Promise<string[]> {
  const { live, retired, indexed, successors } = await sessionsOf(demo, user);
  expect({ orphans: live.filter((id) => !indexed.includes(id)) }).toEqual({ orphans: [] });
  expect({ unreachableRetired: retired.filter((id) => !indexed.includes(successors.get(id) ?? '')) }).toEqual({ unreachableRetired: [] });
  return live;
}

/** The demo's way of presenting a credential on a raw request. */
const presenting = (demo: DemoApp, credential: string) =>
  demo.strategy === 'jwt' ? { authorization: `Bearer ${credential}` } : { cookie: `${demo.cookieName}=${credential}` };

/** Cookies a response sets for the session: none may clear it while a newer one is out. */
const sessionCookies = (demo: DemoApp, res: { headers: Record<string, unknown> }): string[] =>
  ((res.headers['set-cookie'] as string[] | undefined) ?? []).filter((c) => c.startsWith(`${demo.cookieName}=`));

/** A new client of `demo`, signed in as a new user. */
async function signedInOn(demo: DemoApp, label: string): Promise<{ client: Client; user: string }> {
  const client = demo.client();
  const user = uniqueUser(label);
  await client.login(user);
  return { client, user };
}

/** Starts `slow` (a request with the old credential), signs the same user in again while it runs; both answers. */
async function duringRelogin<T>(demo: DemoApp, client: Client, user: string, slow: () => Promise<T>): Promise<{ login: Awaited<ReturnType<Client['login']>>; slow: T }> {
  const { result } = await world.observe({ changes: anyKeyOf(demo) }, async () => {
    const pending = slow();
    await sleep(HEAD_START_MS);
    const login = await client.login(user);
    return { login, slow: await pending };
  });
  return result;
}

/** Two sign-ins of the same user on one old credential at once: one wins (200), the other answers `loserStatus`. */
async function twoRelogins(demo: DemoApp, client: Client, user: string, old: string, loserStatus: number) {
  const { result } = await world.observe({ changes: anyKeyOf(demo) }, async () =>
    Promise.all([0, 1].map(() => client.as(old).post('/auth/login', { username: user, password: DEMO_PASSWORD }))),
  );
  expect(result.map((r) => r.status).sort()).toEqual([200, loserStatus]);
  return { winner: result.find((r) => r.status === 200)!, loser: result.find((r) => r.status === loserStatus)! };
}

const storeIdOf = (demo: DemoApp, credential: string): string => sessionKeyOf(demo, credential).slice(demo.prefix.length + 1, -1);

/** Any key of the app may change in a race; what matters is checked by each case. */
const anyKeyOf = (demo: DemoApp) => [new RegExp(`^${escapeRegExp(demo.prefix)}`)];

const tokenFrom = (demo: DemoApp, res: { body: { token?: string }; headers: Record<string, unknown> }): string | undefined => {
  if (demo.strategy === 'jwt') return res.body.token;
  const header = res.headers['set-cookie'] as string[] | undefined;
  const cookie = header?.map((c) => c.split(';')[0]).filter((c) => c.startsWith(`${demo.cookieName}=`)).pop();
  const value = cookie?.slice(demo.cookieName.length + 1);
  return value ? value : undefined;
};

describe.each(STRATEGIES)('%s', (strategy) => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await world.boot(strategy, { label: 'race', controllers: [SlowController] });
  });

  const signedIn = (label: string) => signedInOn(demo, label);

  it('logout racing a slow write: the write answers 401 and never brings the session back', async () => {
    const { client, user } = await signedIn('logoutrace');
    const key = sessionKeyOf(demo, client.credential!);
    const { result } = await world.observe({ changes: [key, userIndexKeyOf(demo, user)] }, async () => {
      const slow = client.as(client.credential).put(`/slow/cart/late?ms=${SLOW_MS}`);
      await sleep(HEAD_START_MS);
      const logout = await client.post('/auth/logout');
      return { logout, slow: await slow };
    });
    expect(result.logout.status).toBe(204);
    expect(result.slow.status).toBe(401);
    expect(result.slow.body).toEqual(SESSION_ENDED);
    expect(await holdsSession(world.admin, key)).toBe(false);
    expect((await sessionsOf(demo, user)).indexed).toEqual([]);
  });

  it('the sign-in race: a read in flight with the old credential answers after the login, as it was, and clears nothing', async () => {
    const { client, user } = await signedIn('rotread');
    const old = client.credential!;
    const result = await duringRelogin(demo, client, user, () => client.as(old).get(`/slow/me?ms=${SLOW_MS}`));
    expect(result.login.status).toBe(200);
    expect(result.slow.status).toBe(200);
    expect(result.slow.body).toEqual({ userId: user });
    // Arriving last, this answer must not undo the login's new credential.
    expect(sessionCookies(demo, result.slow)).toEqual([]);
    expect((await client.get('/me')).status).toBe(200);
    await expectNoOrphans(demo, user);
  });

  it('a write in flight during rotation answers 409 and lands in neither session; the old credential is then read-only', async () => {
    const { client, user } = await signedIn('rotwrite');
    const old = client.credential!;
    const result = await duringRelogin(demo, client, user, () => client.as(old).put(`/slow/cart/inflight?ms=${SLOW_MS}`));
    expect(result.login.status).toBe(200);
    expect(result.slow.status).toBe(409);
    expect(result.slow.body).toEqual(REPLACED);
    expect(sessionCookies(demo, result.slow)).toEqual([]);
    expect(await world.admin.hget(sessionKeyOf(demo, old), 'm:r')).not.toBeNull();
    expect(await world.admin.hexists(sessionKeyOf(demo, old), 'd:cart:inflight')).toBe(0);
    expect((await client.get('/cart')).body.items).toEqual([]);
    // Within the grace the old credential still reads, as the user it was, and cannot write.
    const stale = await send(demo, presenting(demo, old));
    expect(stale.status).toBe(200);
    expect(stale.body.userId).toBe(user);
    const staleWrite = await client.as(old).put('/cart/late', { qty: 1 });
    expect(staleWrite.status).toBe(409);
    expect((await client.get('/me')).status).toBe(200);
    expect(await expectNoOrphans(demo, user)).toHaveLength(1);
  });

  it('two regenerations of one id at once: exactly one wins, the other answers 409, the id does not fork', async () => {
    const { client, user } = await signedIn('regen2');
    const old = client.credential!;
    const { winner, loser } = await twoRelogins(demo, client, user, old, 409);
    expect(loser.body).toEqual(REPLACED);
    expect(tokenFrom(demo, loser)).toBeUndefined();
    expect(sessionCookies(demo, loser)).toEqual([]);
    // One live session, the winner's, indexed; the old id is the winner's retired one.
    const token = tokenFrom(demo, winner)!;
    expect(await expectNoOrphans(demo, user)).toEqual([storeIdOf(demo, token)]);
    expect(await world.admin.hget(sessionKeyOf(demo, token), 'm:p')).toBe(storeIdOf(demo, old));
    const me = await send(demo, presenting(demo, token));
    expect(me.status).toBe(200);
    expect(me.body.userId).toBe(user);
  });

  it('a logout racing a login that rotates the same id: the login answers 401 and nothing survives', async () => {
    const { client, user } = await signedIn('logoutlogin');
    const old = client.credential!;
    const { result } = await world.observe({ changes: anyKeyOf(demo) }, async () => {
      const login = client.as(old).send('post', `/slow/login?ms=${SLOW_MS}`, { username: user, password: DEMO_PASSWORD });
      await sleep(HEAD_START_MS);
      const logout = await client.as(old).post('/auth/logout');
      return { logout, login: await login };
    });
    expect(result.logout.status).toBe(204);
    expect(result.login.status).toBe(401);
    expect(result.login.body).toEqual(SESSION_ENDED);
    expect(await expectNoOrphans(demo, user)).toEqual([]);
  });

  it('revoking one session by handle while it rotates: the rotation answers 401 and the session does not live on', async () => {
    const { client: keeper, user } = await signedIn('handlerot');
    const device = demo.client();
    await device.login(user);
    const handle = ((await device.get('/sessions')).body.sessions as Array<{ handle: string; current: boolean }>).find((s) => s.current)!.handle;
    const { result } = await world.observe({ changes: anyKeyOf(demo) }, async () => {
      const login = device.as(device.credential).send('post', `/slow/login?ms=${SLOW_MS}`, { username: user, password: DEMO_PASSWORD });
      await sleep(HEAD_START_MS);
      const revoke = await keeper.delete(`/sessions/${handle}`);
      return { revoke, login: await login };
    });
    expect(result.revoke.status).toBe(204);
    expect(result.login.status).toBe(401);
    expect(await expectNoOrphans(demo, user)).toEqual([storeIdOf(demo, keeper.credential!)]);
  });

  it('"sign out everywhere" while a login is between its password check and its save: the login fails, nothing survives', async () => {
    const { client: keeper, user } = await signedIn('revokerace');
    const intruder = demo.client();
    const { result } = await world.observe({ changes: anyKeyOf(demo) }, async () => {
      const login = intruder.as(undefined).send('post', `/slow/login?ms=${SLOW_MS}`, { username: user, password: DEMO_PASSWORD });
      await sleep(HEAD_START_MS);
      const revoke = await keeper.delete('/sessions');
      return { revoke, login: await login };
    });
    expect(result.revoke.status).toBe(204);
    expect(result.login.status).toBe(401);
    expect(result.login.body).toEqual(SESSION_ENDED);
    expect(tokenFrom(demo, result.login)).toBeUndefined();
    // Only the session that asked to sign out the others is left.
    const live = await expectNoOrphans(demo, user);
    expect(live).toEqual([storeIdOf(demo, keeper.credential!)]);
    expect((await keeper.get('/me')).status).toBe(200);
  });

  it('"sign out everywhere" racing plain logins (10 rounds): no session escapes the index, no 5xx', async () => {
    const { client: keeper, user } = await signedIn('revokeloop');
    const { result } = await world.observe({ changes: anyKeyOf(demo) }, async () => {
      const statuses: number[] = [];
      for (let round = 0; round < 10; round++) {
        const [login, revoke] = await Promise.all([
          demo.client().post('/auth/login', { username: user, password: DEMO_PASSWORD }),
          keeper.delete('/sessions'),
        ]);
        statuses.push(login.status, revoke.status);
      }
      return statuses;
    });
    for (const status of result) expect([200, 204, 401]).toContain(status);
    await expectNoOrphans(demo, user);
    // A last "sign out everywhere" leaves exactly the keeper.
    expect((await keeper.delete('/sessions')).status).toBe(204);
    expect(await expectNoOrphans(demo, user)).toHaveLength(1);
  });
});

describe.each(STRATEGIES)('%s with rotationGraceMs 0', (strategy) => {
  let demo: DemoApp;
  const noGrace: BootOptions = { label: 'nograce', controllers: [SlowController], env: { SESSION_ROTATION_GRACE_MS: '0' } };

  beforeAll(async () => {
    demo = await world.boot(strategy, noGrace);
  });

  const signedIn = (label: string) => signedInOn(demo, label);

  it('a read-only request in flight during rotation still answers 200 (it has nothing to save)', async () => {
    const { client, user } = await signedIn('rotread');
    const old = client.credential!;
    const result = await duringRelogin(demo, client, user, () => client.as(old).get(`/slow/me?ms=${SLOW_MS}`));
    expect(result.login.status).toBe(200);
    expect(result.slow.status).toBe(200);
    expect(result.slow.body).toEqual({ userId: user });
    await expectNoOrphans(demo, user);
  });

  it('a write in flight during rotation answers 401 and is not applied to either session', async () => {
    const { client, user } = await signedIn('rotwrite');
    const old = client.credential!;
    const result = await duringRelogin(demo, client, user, () => client.as(old).put(`/slow/cart/inflight?ms=${SLOW_MS}`));
    expect(result.login.status).toBe(200);
    expect(result.slow.status).toBe(401);
    expect(result.slow.body).toEqual(SESSION_ENDED);
    expect(await holdsSession(world.admin, sessionKeyOf(demo, old))).toBe(false);
    expect((await client.get('/cart')).body.items).toEqual([]);
    // The old credential is dead at once; the new one works.
    const stale = await send(demo, presenting(demo, old));
    expect(stale.status).toBe(401);
    expect(stale.body).toEqual(REJECTED);
    expect((await client.get('/me')).status).toBe(200);
    expect(await expectNoOrphans(demo, user)).toHaveLength(1);
  });

  // Without a grace the winning rotation holds the old session read-only while it runs, then deletes
  // it. The other sign-in meets it frozen (409, read-only), already gone when its own rotation
  // starts (401), or deleted before it loaded (a dead credential: an ordinary sign-in that starts a
  // session of its own, 200). Either way the old session does not fork: one live session only
  // carries it on (its creation time), and the old credential is dead.
  it('two regenerations of one id at once: one rotates it; the other answers 409 or 401 or signs in afresh; the old id dies and does not fork', async () => {
    const { client, user } = await signedIn('regen2');
    const old = client.credential!;
    const createdAt = await world.admin.hget(sessionKeyOf(demo, old), 'm:c');
    const { result } = await world.observe({ changes: anyKeyOf(demo) }, async () =>
      Promise.all([0, 1].map(() => client.as(old).post('/auth/login', { username: user, password: DEMO_PASSWORD }))),
    );
    const statuses = result.map((r) => r.status).sort();
    expect([[200, 200], [200, 401], [200, 409]]).toContainEqual(statuses);
    for (const loser of result.filter((r) => r.status !== 200)) {
      expect(loser.body).toEqual(loser.status === 401 ? SESSION_ENDED : REPLACED);
      expect(tokenFrom(demo, loser)).toBeUndefined();
    }
    const stale = await send(demo, presenting(demo, old));
    expect(stale.status).toBe(401);
    const live = await expectNoOrphans(demo, user);
    const winners = result.filter((r) => r.status === 200).map((r) => storeIdOf(demo, tokenFrom(demo, r)!));
    expect([...live].sort()).toEqual([...winners].sort());
    const created = await Promise.all(live.map((id) => world.admin.hget(`${demo.prefix}{${id}}`, 'm:c')));
    expect(created.filter((c) => c === createdAt)).toHaveLength(1);
    for (const winner of result.filter((r) => r.status === 200)) {
      const me = await send(demo, presenting(demo, tokenFrom(demo, winner)!));
      expect({ status: me.status, userId: me.body.userId }).toEqual({ status: 200, userId: user });
    }
  });
});

describe.each(STRATEGIES)('%s with maxSessionsPerUser 2', (strategy) => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await world.boot(strategy, { label: 'max', env: { SESSION_MAX_PER_USER: '2' } });
  });

  it('8 parallel logins of one user leave at most 2 live sessions, all indexed, and only those answer 200', async () => {
    const user = uniqueUser('maxpar');
    const clients = Array.from({ length: 8 }, () => demo.client());
    const { result } = await world.observe({ changes: anyKeyOf(demo) }, () =>
      Promise.all(clients.map((c) => c.post('/auth/login', { username: user, password: DEMO_PASSWORD }))),
    );
    for (const res of result) expect(res.status).toBe(200);
    const live = await expectNoOrphans(demo, user);
    expect(live.length).toBeLessThanOrEqual(2);
    expect((await sessionsOf(demo, user)).indexed.length).toBeLessThanOrEqual(2);
    const working = (await Promise.all(clients.map((c) => c.get('/me')))).filter((r) => r.status === 200);
    expect(working.length).toBe(live.length);
    // One more login, alone: the limit holds and the newest session works.
    const last = demo.client();
    await last.login(user);
    expect((await last.get('/me')).status).toBe(200);
    expect((await expectNoOrphans(demo, user)).length).toBeLessThanOrEqual(2);
  });

  it('parallel logins racing a listing of the sessions (which prunes stale entries) leave no unindexed session', async () => {
    const user = uniqueUser('maxlist');
    const lister = demo.client();
    await lister.login(user);
    const { result } = await world.observe({ changes: anyKeyOf(demo) }, () =>
      Promise.all([
        ...Array.from({ length: 6 }, () => demo.client().post('/auth/login', { username: user, password: DEMO_PASSWORD })),
        ...Array.from({ length: 6 }, () => lister.get('/sessions')),
      ]),
    );
    for (const res of result) expect([200, 401]).toContain(res.status);
    const live = await expectNoOrphans(demo, user);
    expect(live.length).toBeLessThanOrEqual(2);
  });
});

describe.each(STRATEGIES)('%s on three app instances sharing one Redis, maxSessionsPerUser 2', (strategy) => {
  let instances: DemoApp[];

  beforeAll(async () => {
    const first = await world.boot(strategy, { label: 'multi', env: { SESSION_MAX_PER_USER: '2' } });
    instances = [
      first,
      await world.boot(strategy, { label: 'multi', env: { SESSION_MAX_PER_USER: '2', SESSION_KEY_PREFIX: first.prefix } }),
      await world.boot(strategy, { label: 'multi', env: { SESSION_MAX_PER_USER: '2', SESSION_KEY_PREFIX: first.prefix } }),
    ];
  });

  it('9 parallel logins per round, 8 rounds: never an unindexed session, never more than 2 live', async () => {
    const [demo] = instances;
    const { result } = await world.observe({ changes: anyKeyOf(demo) }, async () => {
      const rounds: Array<{ live: string[]; indexed: string[] }> = [];
      for (let round = 0; round < 8; round++) {
        const user = uniqueUser('shared');
        await Promise.all(
          Array.from({ length: 9 }, (_, i) => instances[i % 3].client().post('/auth/login', { username: user, password: DEMO_PASSWORD })),
        );
        rounds.push(await sessionsOf(demo, user));
      }
      return rounds;
    });
    for (const { live, indexed } of result) {
      expect({ orphans: live.filter((id) => !indexed.includes(id)) }).toEqual({ orphans: [] });
      expect(live.length).toBeLessThanOrEqual(2);
    }
  });

  it('"sign out everywhere" on one instance racing logins on the others: no unindexed session survives', async () => {
    const [demo] = instances;
    const user = uniqueUser('sharedrev');
    const keeper = instances[0].client();
    await keeper.login(user);
    const { result } = await world.observe({ changes: anyKeyOf(demo) }, () =>
      Promise.all([
        ...Array.from({ length: 6 }, (_, i) => instances[1 + (i % 2)].client().post('/auth/login', { username: user, password: DEMO_PASSWORD })),
        keeper.delete('/sessions'),
      ]),
    );
    for (const res of result) expect([200, 204, 401]).toContain(res.status);
    await expectNoOrphans(demo, user);
  });
});
