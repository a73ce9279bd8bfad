/**
 * Demo app: the session id is rotated on login. A guest's cart survives the login (cookie
 * strategies); the pre-login credential reads its own old session, read-only, for the rotation
 * grace and then stops working; logging in as another user destroys the previous user's session
 * instead of handing its data over.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  COOKIE_STRATEGIES,
  STRATEGIES,
  cookiesNamed,
  demoEnv,
  isClearing,
  startDemoApp,
  uniqueUser,
  type DemoApp,
} from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

/** Short enough to wait out in a test, long enough for the requests made within it. */
const GRACE_MS = 1_500;

let redis: SuiteRedis;

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describe.each(COOKIE_STRATEGIES)('guest cart and login (%s)', (strategy) => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(redis, strategy, 'rotation', { SESSION_ROTATION_GRACE_MS: String(GRACE_MS) }));
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('stores nothing and sets no cookie for a visitor who only reads', async () => {
    const visitor = demo.client();
    const res = await visitor.get('/cart');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [] });
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('keeps the guest cart through login, with a new cookie; the old cookie reads the guest session until the grace ends, then is cleared', async () => {
    const client = demo.client();
    const put = await client.put('/cart/apple', { qty: 2 });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ sku: 'apple', qty: 2 });
    const guestCookie = client.credential;
    expect(guestCookie).toBeDefined();

    // A guest session is live but not signed in: /me says so without clearing the cookie (the cart stays).
    const guestMe = await client.get('/me');
    expect(guestMe.status).toBe(401);
    expect(cookiesNamed(guestMe, demo.cookieName).filter(isClearing)).toEqual([]);
    expect(client.credential).toBe(guestCookie);

    await new Promise((resolve) => setTimeout(resolve, 20));
    const user = uniqueUser('shopper');
    await client.login(user);
    const loggedInAt = Date.now();
    const userCookie = client.credential!;
    expect(userCookie).not.toBe(guestCookie);

    expect((await client.get('/cart')).body).toEqual({ items: [{ sku: 'apple', qty: 2 }] });
    expect((await client.put('/cart/banana', { qty: 1 })).status).toBe(200);
    const me = await client.get('/me');
    expect(me.status).toBe(200);
    expect(me.body.userId).toBe(user);

    // Within the grace the pre-login cookie reads the guest session as it was, never the user's
    // (no banana, not signed in), cannot change it, and is neither cleared nor replaced.
    const inGrace = [await client.as(guestCookie).get('/me'), await client.as(guestCookie).get('/cart'), await client.as(guestCookie).put('/cart/cherry', { qty: 1 })];
    expect(Date.now() - loggedInAt).toBeLessThan(GRACE_MS);
    expect(inGrace.map((r) => r.status)).toEqual([401, 200, 409]);
    expect(inGrace[1].body).toEqual({ items: [{ sku: 'apple', qty: 2 }] });
    for (const res of inGrace) expect(cookiesNamed(res, demo.cookieName)).toEqual([]);
    expect((await client.get('/cart')).body).toEqual({ items: [{ sku: 'apple', qty: 2 }, { sku: 'banana', qty: 1 }] });

    // After the grace the pre-login cookie names no session: 401 on /me, and the cookie is cleared.
    await new Promise((resolve) => setTimeout(resolve, loggedInAt + GRACE_MS + 50 - Date.now()));
    const old = client.as(guestCookie);
    const oldMe = await old.get('/me');
    expect(oldMe.status).toBe(401);
    const cleared = cookiesNamed(oldMe, demo.cookieName);
    expect(cleared.length).toBeGreaterThan(0);
    expect(cleared.every(isClearing)).toBe(true);
    // On a guest-friendly route the old cookie gets an empty cart, not the user's.
    expect((await client.as(guestCookie).get('/cart')).body).toEqual({ items: [] });
  });

  it('keeps createdAt (and so the absolute deadline) of the guest session when it becomes a signed-in one', async () => {
    const client = demo.client();
    expect((await client.put('/cart/pear', { qty: 1 })).status).toBe(200);
    const guestCreatedBefore = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.login(uniqueUser('created'));
    const me = await client.get('/me');
    expect(Date.parse(me.body.createdAt)).toBeLessThanOrEqual(guestCreatedBefore);
  });
});

describe.each(STRATEGIES)('login on top of an existing session (%s)', (strategy) => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(redis, strategy, 'relogin'));
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('rotates the credential when the same user logs in again, keeping the data', async () => {
    const client = demo.client();
    const user = uniqueUser('same');
    await client.login(user);
    expect((await client.put('/cart/kiwi', { qty: 4 })).status).toBe(200);
    const before = client.credential!;
    const createdAt = (await client.get('/me')).body.createdAt;

    await client.login(user);
    expect(client.credential).not.toBe(before);
    expect((await client.get('/cart')).body).toEqual({ items: [{ sku: 'kiwi', qty: 4 }] });
    expect((await client.get('/me')).body.createdAt).toBe(createdAt);
    // Within the default grace (5 s) the old credential still reads, as the same user; see above for its end.
    const late = await client.as(before).get('/me');
    expect(late.status).toBe(200);
    expect(late.body.userId).toBe(user);
  });

  it("destroys the previous user's session when another user logs in on it", async () => {
    const client = demo.client();
    const alice = uniqueUser('alice');
    const bob = uniqueUser('bob');
    await client.login(alice);
    expect((await client.put('/cart/alices-item', { qty: 1 })).status).toBe(200);
    expect((await client.put('/profile/note', { text: 'alice private note' })).status).toBe(200);
    const aliceCredential = client.credential!;

    await client.login(bob);
    const bobCredential = client.credential!;
    expect(bobCredential).not.toBe(aliceCredential);

    const me = await client.get('/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userId: bob, username: bob });
    // Nothing of alice's session is handed over to bob.
    expect((await client.get('/cart')).body).toEqual({ items: [] });
    expect((await client.get('/profile/note')).body).toEqual({ text: null });

    // Alice's session is gone, not just detached: her credential fails and she has no sessions left.
    expect((await client.as(aliceCredential).get('/me')).status).toBe(401);
    const aliceElsewhere = demo.client();
    await aliceElsewhere.login(alice);
    const list = await aliceElsewhere.get('/sessions');
    expect(list.status).toBe(200);
    expect(list.body.sessions).toHaveLength(1);
  });
});
