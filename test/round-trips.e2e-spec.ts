// Standalone only (not in jest.config.js DEMO_SUITES): exact counts need a server nobody else uses; topologies.e2e-spec.ts and the drills cover the paths.
/**
 * Demo app, every strategy: what requests cost in Redis, measured from a separate connection.
 * - A read-only GET /me is one round trip (one EVALSHA: load + throttled touch) and no write.
 * - A request that changes nothing writes nothing.
 * - A malformed credential never reaches Redis at all (commandstats delta 0) and is a 401.
 * See test/support/redis-probe.ts for how round trips, commands and writes are told apart.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { STRATEGIES, demoEnv, signJwt, startDemoApp, uniqueUser, unsignedJwt, type Client, type DemoApp, type StrategyName } from './support/demo-app.js';
import { measureRedis, roundTripsDuring } from './support/redis-probe.js';
import { redisClientFor, startRedisServer, type RedisServerHandle } from './support/redis-server.js';

let server: RedisServerHandle;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = await redisClientFor(server);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** Credentials that must be refused on shape alone, per strategy. */
function malformedCredentials(strategy: StrategyName): Array<[string, string]> {
  const idLength = strategy === 'hashed' ? 43 : 32;
  const opaque: Array<[string, string]> = [
    ['too short', 'abc'],
    ['one character too short', 'a'.repeat(idLength - 1)],
    ['one character too long', 'a'.repeat(idLength + 1)],
    ['outside base64url (.)', `${'a'.repeat(idLength - 1)}.`],
    ['with braces (hash tag)', `{${'a'.repeat(idLength - 2)}}`],
    ['with *', `${'a'.repeat(idLength - 1)}*`],
    ['only *', '*'],
    ['percent-encoded', `%7B${'a'.repeat(idLength - 3)}`],
  ];
  if (strategy !== 'jwt') return opaque;
  const iat = Math.floor(Date.now() / 1000);
  const claims = { sid: 'a'.repeat(32), sub: 'someone', iss: 'nestjs-redis-session-demo', aud: 'demo', iat, exp: iat + 300 };
  return [
    ...opaque,
    ['two segments', 'aaaa.bbbb'],
    ['segments too short', 'a.b.c'],
    ['braces in segments', '{aa}.{bb}.{cc}'],
    ['* in a segment', 'aaaa.bb*b.cccc'],
    ['signed with another secret', signJwt(claims, { secret: 'x'.repeat(48) })],
    ['alg none', unsignedJwt(claims)],
    ['sid with braces', signJwt({ ...claims, sid: `{${'a'.repeat(30)}}` })],
    ['sid with *', signJwt({ ...claims, sid: '*' })],
  ];
}

describe.each(STRATEGIES)('Redis round trips (%s)', (strategy) => {
  let demo: DemoApp;
  let client: Client;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(server.url, strategy, 'trips'));
    client = demo.client();
    await client.login(uniqueUser('trips'));
    expect((await client.put('/cart/existing', { qty: 2 })).status).toBe(200);
    // Warm-up: the first call of each script after start-up may cost EVALSHA + NOSCRIPT + EVAL.
    expect((await client.get('/me')).status).toBe(200);
    expect((await client.get('/cart')).status).toBe(200);
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('serves a read-only GET /me with exactly one Redis round trip and no write', async () => {
    const { result: me, roundTrips } = await roundTripsDuring(redis, () => client.get('/me'));
    expect(me.status).toBe(200);
    expect(roundTrips.map((c) => c.name)).toEqual(['evalsha']);

    // The same request seen through INFO commandstats: one script call (its inner HGETALL
    // are counted there too, so only the script calls are compared), and nothing written.
    const { result, activity } = await measureRedis(redis, () => client.get('/me'));
    expect(result.status).toBe(200);
    expect((activity.commands.evalsha ?? 0) + (activity.commands.eval ?? 0)).toBe(1);
    expect(activity.writes).toBe(0);
  });

  it.each([
    ['GET /me', (c: Client) => c.get('/me'), 200],
    ['GET /cart', (c: Client) => c.get('/cart'), 200],
    ['GET /profile/note', (c: Client) => c.get('/profile/note'), 200],
    ['DELETE /cart/:sku of an absent item', (c: Client) => c.delete('/cart/not-in-cart'), 204],
  ] as const)('writes nothing for a request that changes nothing: %s', async (_label, send, status) => {
    const { result, activity } = await measureRedis(redis, () => send(client));
    expect(result.status).toBe(status);
    expect({ writes: activity.writes, commands: activity.commands }).toEqual({ writes: 0, commands: expect.any(Object) });
  });

  it('writes nothing when a cart item is PUT with the quantity it already has', async () => {
    const { result, activity } = await measureRedis(redis, () => client.put('/cart/existing', { qty: 2 }));
    expect(result.status).toBe(200);
    expect({ writes: activity.writes, commands: activity.commands }).toEqual({ writes: 0, commands: expect.any(Object) });
  });

  it('never sends Redis a command for a malformed credential, and answers 401 on /me', async () => {
    const cases = malformedCredentials(strategy);
    const outcomes: Array<{ label: string; status: number; redisCommands: Record<string, number> }> = [];
    for (const [label, credential] of cases) {
      const { result, activity } = await measureRedis(redis, () => client.as(credential).get('/me'));
      outcomes.push({ label, status: result.status, redisCommands: activity.commands });
    }
    expect(outcomes).toEqual(cases.map(([label]) => ({ label, status: 401, redisCommands: {} })));
  });

  if (strategy !== 'jwt') {
    it('never sends Redis a command for an ambiguous cookie (sent twice), and answers 401', async () => {
      const good = client.credential!;
      const headers = { Cookie: `${demo.cookieName}=${good}; ${demo.cookieName}=${good}` };
      const { result, activity } = await measureRedis(redis, () => client.as(undefined).send('get', '/me', undefined, headers));
      expect(result.status).toBe(401);
      expect(activity.commands).toEqual({});
    });
  }
});
