/**
 * Demo app, jwt strategy: claims, immediate revocation on logout, and refusal of forged, unsigned,
 * exp-less and expired tokens. Each forged token names a live session, so only the property under
 * test can be the reason for the 401 (a correctly signed control token with the same claims is
 * accepted).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DEMO_AUDIENCE,
  DEMO_ISSUER,
  decodeJwt,
  demoEnv,
  signJwt,
  sleep,
  startDemoApp,
  uniqueUser,
  unsignedJwt,
  type Client,
  type DemoApp,
} from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

const ABSOLUTE_S = 3600;

let redis: SuiteRedis;
let demo: DemoApp;

beforeAll(async () => {
  redis = await startSuiteRedis();
  demo = await startDemoApp(demoEnv(redis, 'jwt', 'jwt', { SESSION_ABSOLUTE_TTL: String(ABSOLUTE_S) }));
});

afterAll(async () => {
  await demo?.close();
  await redis?.stop();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('jwt strategy', () => {
  it('issues an HS256 token carrying sub, sid, iat, exp, iss and aud, and no cookie', async () => {
    const client = demo.client();
    const user = uniqueUser('claims');
    const before = nowSeconds();
    const login = await client.login(user);
    expect(login.headers['set-cookie']).toBeUndefined();

    const { header, payload } = decodeJwt(client.credential!);
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toEqual({
      sub: user,
      sid: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
      iat: expect.any(Number),
      exp: expect.any(Number),
      iss: DEMO_ISSUER,
      aud: DEMO_AUDIENCE,
    });
    const { iat, exp } = payload as { iat: number; exp: number };
    expect(iat).toBeGreaterThanOrEqual(before);
    expect(iat).toBeLessThanOrEqual(nowSeconds());
    // The token never outlives the session's absolute deadline.
    expect(exp).toBeGreaterThan(iat);
    expect(exp).toBeLessThanOrEqual(iat + ABSOLUTE_S + 1);
  });

  it("expires the token with the session's absolute deadline (to the second), also after a rotation", async () => {
    // exp is the deadline rounded to a whole second (down or up): never a second or more early,
    // or a signed-in user is thrown out before the session ends (with short TTLs, visibly so).
    // jsonwebtoken sets exp = floor(now) + expiresIn; deriving expiresIn as floor(deadline - now)
    // rounds twice and loses a second whenever now's sub-second part exceeds the deadline's. The
    // re-login below is timed so that it does, which makes the outcome certain, not chance.
    const user = uniqueUser('deadline');
    let client: Client;
    let createdAt: number;
    do {
      client = demo.client();
      await client.login(user);
      createdAt = Date.parse((await client.get('/me')).body.createdAt);
    } while (createdAt % 1000 > 500); // leaves >= 350 ms for the timed re-login below
    const deadline = createdAt + ABSOLUTE_S * 1000;

    await sleep((((createdAt % 1000) + 150 - (Date.now() % 1000)) + 1000) % 1000);
    await client.login(user); // same user: rotation keeps createdAt and so the absolute deadline
    expect((await client.get('/me')).body.createdAt).toBe(new Date(createdAt).toISOString());
    const rotated = decodeJwt(client.credential!).payload.exp as number;

    // Whole seconds: floor(deadline) or ceil(deadline) are both fine; one second less is not.
    expect(rotated).toBeGreaterThanOrEqual(Math.floor(deadline / 1000));
    expect(rotated).toBeLessThanOrEqual(Math.ceil(deadline / 1000));
  });

  it('revokes the token on logout: the same, unexpired token is refused at once', async () => {
    const client = demo.client();
    await client.login(uniqueUser('revoke'));
    const token = client.credential!;
    expect((await client.get('/me')).status).toBe(200);

    const logout = await client.post('/auth/logout');
    expect(logout.status).toBe(204);

    expect(decodeJwt(token).payload.exp as number).toBeGreaterThan(nowSeconds() + 60);
    const replay = await client.as(token).get('/me');
    expect(replay.status).toBe(401);
    expect((await client.as(token).get('/cart')).status).toBe(401);
  });

  describe('forged and malformed tokens naming a live session', () => {
    let victim: Client;
    let claims: { sid: string; sub: string; iss: string; aud: string };

    beforeAll(async () => {
      victim = demo.client();
      await victim.login(uniqueUser('victim'));
      const { sid, sub, iss, aud } = decodeJwt(victim.credential!).payload as typeof claims;
      claims = { sid, sub, iss, aud };
    });

    /** GET /me with a token, and how many commands Redis executed meanwhile. */
    async function meWith(token: string) {
      const { result, activity } = await redis.activityDuring(demo.prefix, () => victim.as(token).get('/me'));
      return { status: result.status, redisCommands: activity.executed };
    }

    it('accepts a correctly signed token with these claims (control)', async () => {
      const token = signJwt(claims, { expiresInSeconds: 300 });
      const control = await meWith(token);
      expect(control.status).toBe(200);
      // The probe sees this app's commands, so the zeros below are measured, not blind.
      expect(control.redisCommands).toBeGreaterThan(0);
    });

    it('refuses a token signed with another secret, before any Redis call', async () => {
      const token = signJwt(claims, { secret: 'another-secret-of-forty-eight-bytes-0123456789!!', expiresInSeconds: 300 });
      expect(await meWith(token)).toEqual({ status: 401, redisCommands: 0 });
    });

    it('refuses an unsigned token (alg none), before any Redis call', async () => {
      const iat = nowSeconds();
      const token = unsignedJwt({ ...claims, iat, exp: iat + 300 });
      expect(await meWith(token)).toEqual({ status: 401, redisCommands: 0 });
    });

    it('refuses a token without exp (right secret, no expiresIn, noTimestamp)', async () => {
      const token = signJwt(claims, { noTimestamp: true });
      const { payload } = decodeJwt(token);
      expect(payload.exp).toBeUndefined();
      expect(await meWith(token)).toEqual({ status: 401, redisCommands: 0 });
    });

    it('refuses an expired token, before any Redis call', async () => {
      const iat = nowSeconds() - 120;
      const token = signJwt({ ...claims, iat, exp: iat + 60 });
      expect(await meWith(token)).toEqual({ status: 401, redisCommands: 0 });
    });

    it('refuses a token with the wrong issuer or audience', async () => {
      expect((await meWith(signJwt({ ...claims, iss: 'someone-else' }, { expiresInSeconds: 300 }))).status).toBe(401);
      expect((await meWith(signJwt({ ...claims, aud: 'other-app' }, { expiresInSeconds: 300 }))).status).toBe(401);
    });

    it("refuses a validly signed token whose sub is not the session's user", async () => {
      const token = signJwt({ ...claims, sub: uniqueUser('mallory') }, { expiresInSeconds: 300 });
      expect((await meWith(token)).status).toBe(401);
    });

    it('still accepts the real token afterwards', async () => {
      expect((await victim.get('/me')).status).toBe(200);
    });
  });

  it('needs a token for the cart and the note (no guest sessions): GET and PUT answer 401', async () => {
    const anonymous = demo.client();
    const { result, activity } = await redis.activityDuring(demo.prefix, async () => [
      (await anonymous.get('/cart')).status,
      (await anonymous.put('/cart/apple', { qty: 1 })).status,
      (await anonymous.get('/profile/note')).status,
      (await anonymous.put('/profile/note', { text: 'hi' })).status,
    ]);
    expect(result).toEqual([401, 401, 401, 401]);
    expect(activity.writes).toBe(0);
  });

  it('refuses a bearer header that is not "Bearer <token>"', async () => {
    const client = demo.client();
    await client.login(uniqueUser('scheme'));
    const token = client.credential!;
    expect((await client.as(undefined).send('get', '/me', undefined, { Authorization: token })).status).toBe(401);
    expect((await client.as(undefined).send('get', '/me', undefined, { Authorization: `Basic ${token}` })).status).toBe(401);
    expect((await client.as(undefined).send('get', '/me', undefined, { Authorization: `Bearer ${token}` })).status).toBe(200);
  });
});
