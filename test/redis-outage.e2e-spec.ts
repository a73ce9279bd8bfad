// Standalone only (not in jest.config.js DEMO_SUITES): it kills its own server; Sentinel and Cluster outages are the drills in test/faults/.
/**
 * Demo app, every strategy: Redis crashes (SIGKILL) and comes back empty.
 * While it is down, requests that need the store answer 503 with Retry-After within about 2 s
 * (never 500, never a hang, never a 401 that would log the user out) and /health says 503.
 * After the restart the app reconnects by itself; the old credential names nothing any more (401,
 * not 500) and a new login works.
 *
 * Each strategy gets its own redis-server, since killing it affects everything connected to it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { STRATEGIES, demoEnv, sleep, startDemoApp, uniqueUser, type Client, type DemoApp } from './support/demo-app.js';
import { startRedisServer, type RedisServerHandle } from './support/redis-server.js';

const BOUND_MS = 2500;

/** Status and duration of one request. */
async function timed(send: () => Promise<{ status: number; headers: Record<string, string> }>) {
  const start = Date.now();
  const res = await send();
  return { status: res.status, retryAfter: res.headers['retry-after'], ms: Date.now() - start };
}

describe.each(STRATEGIES)('Redis outage (%s)', (strategy) => {
  let server: RedisServerHandle;
  let demo: DemoApp;
  let client: Client;
  let user: string;
  let credentialBeforeCrash: string;

  beforeAll(async () => {
    server = await startRedisServer();
    demo = await startDemoApp(demoEnv(server.url, strategy, 'outage'));
    client = demo.client();
    user = uniqueUser('outage');
    await client.login(user);
    credentialBeforeCrash = client.credential!;
  });

  afterAll(async () => {
    await demo?.close();
    await server?.stop();
  });

  it('answers 503 with Retry-After within about 2 s while Redis is down; /health answers 503', async () => {
    expect((await client.get('/me')).status).toBe(200);
    expect((await client.get('/health')).status).toBe(200);

    await server.kill9();

    // All at once, each timed on its own: a read, a write, a login and the health check.
    const [me, write, login, health] = await Promise.all([
      timed(() => client.get('/me')),
      timed(() => client.as(credentialBeforeCrash).put('/cart/while-down', { qty: 1 })),
      timed(() => demo.client().post('/auth/login', { username: uniqueUser('down'), password: 'demo-password' })),
      timed(() => demo.client().get('/health')),
    ]);
    expect(me).toEqual({ status: 503, retryAfter: expect.stringMatching(/^\d+$/), ms: expect.any(Number) });
    expect({ write: write.status, login: login.status, health: health.status }).toEqual({ write: 503, login: 503, health: 503 });
    expect(Math.max(me.ms, write.ms, login.ms, health.ms)).toBeLessThan(BOUND_MS);

    // The credential was kept: a 503 must not clear the cookie (the session may well still exist).
    expect(client.credential).toBe(credentialBeforeCrash);
  });

  it('recovers once Redis is back: old credential 401 (the server restarted empty), new login 200', async () => {
    await server.restart();

    // ioredis reconnects with a capped back-off: wait for /health to say so (bounded).
    const deadline = Date.now() + 8000;
    let health = 0;
    while (Date.now() < deadline && (health = (await demo.client().get('/health')).status) !== 200) await sleep(100);
    expect(health).toBe(200);

    const old = await client.as(credentialBeforeCrash).get('/me');
    expect(old.status).toBe(401);

    const again = demo.client();
    await again.login(user);
    const me = await again.get('/me');
    expect(me.status).toBe(200);
    expect(me.body.userId).toBe(user);
    expect((await again.put('/cart/after-restart', { qty: 1 })).status).toBe(200);
  });
});
