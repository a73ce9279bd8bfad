// Standalone only (not in jest.config.js DEMO_SUITES): startup validation, decided before any Redis connection.
/**
 * Demo app: a bad environment stops the app at startup with an error that names the setting,
 * instead of starting with a weak or wrong configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { compileDemo, demoEnv, type DemoEnv } from './support/demo-app.js';
import { startRedisServer, type RedisServerHandle } from './support/redis-server.js';

let server: RedisServerHandle;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

const STARTED = 'the app started without an error';

/** The startup error for `env`, or null when the app starts (it is closed again at once). */
async function startupError(env: DemoEnv): Promise<{ message: string } | null> {
  try {
    const moduleRef = await compileDemo(env);
    await moduleRef.close();
    return null;
  } catch (error) {
    return { message: String((error as Error)?.message ?? error) };
  }
}

/** The startup error message, or a sentence saying that the app started (so a failure reads well). */
const messageOf = async (env: DemoEnv): Promise<string> => (await startupError(env))?.message ?? STARTED;

describe('startup validation', () => {
  it('refuses a JWT_SECRET of 10 bytes, naming jwt.secret and not echoing the secret', async () => {
    const secret = 'short-0123';
    const message = await messageOf(demoEnv(server.url, 'jwt', 'startup', { JWT_SECRET: secret }));
    expect(message).toMatch(/jwt\.secret/);
    expect(message).toMatch(/32 bytes/);
    expect(message).not.toContain(secret);
  });

  it('refuses a JWT_SECRET of 31 bytes and accepts one of 32 bytes', async () => {
    expect(await messageOf(demoEnv(server.url, 'jwt', 'startup', { JWT_SECRET: 's'.repeat(31) }))).toMatch(/jwt\.secret/);
    expect(await startupError(demoEnv(server.url, 'jwt', 'startup', { JWT_SECRET: 's'.repeat(32) }))).toBeNull();
  });

  it('requires JWT_SECRET for the jwt strategy', async () => {
    const message = await messageOf(demoEnv(server.url, 'jwt', 'startup', { JWT_SECRET: undefined }));
    expect(message).toMatch(/JWT_SECRET/);
  });

  it('refuses SESSION_IDLE_TTL=-5, naming the variable and the value', async () => {
    const message = await messageOf(demoEnv(server.url, 'session-id', 'startup', { SESSION_IDLE_TTL: '-5' }));
    expect(message).toMatch(/SESSION_IDLE_TTL/);
    expect(message).toContain('-5');
  });

  it('refuses an unknown SESSION_STRATEGY, naming the variable', async () => {
    const message = await messageOf(demoEnv(server.url, 'session-id', 'startup', { SESSION_STRATEGY: 'cookie' }));
    expect(message).toMatch(/SESSION_STRATEGY/);
  });

  it('refuses REDIS_URL together with REDIS_CLUSTER_NODES, and a sentinel entry that is not host:port', async () => {
    expect(await messageOf(demoEnv(server.url, 'session-id', 'startup', { REDIS_CLUSTER_NODES: '127.0.0.1:7000' }))).toMatch(
      /Set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES \(got REDIS_URL and REDIS_CLUSTER_NODES\)/,
    );
    const message = await messageOf(
      demoEnv(server.url, 'session-id', 'startup', { REDIS_URL: undefined, REDIS_SENTINELS: '127.0.0.1', REDIS_SENTINEL_NAME: 'mymaster' }),
    );
    expect(message).toContain('REDIS_SENTINELS: "127.0.0.1" is not host:port');
  });

  it('refuses an idle TTL longer than the absolute TTL, naming ttl.idle', async () => {
    const message = await messageOf(
      demoEnv(server.url, 'session-id', 'startup', { SESSION_IDLE_TTL: '600', SESSION_ABSOLUTE_TTL: '60' }),
    );
    expect(message).toMatch(/ttl\.idle/);
  });
});
