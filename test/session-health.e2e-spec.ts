/**
 * SessionHealthIndicator: a PING bounded by a timeout, in the shape @nestjs/terminus expects, so a
 * hung Redis (SIGSTOP: the socket stays open, nothing answers) fails the check fast. The demo's
 * /health (terminus) is covered on both adapters in adapters.e2e-spec.ts and redis-outage.e2e-spec.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { SessionHealthIndicator, SessionModule } from '@app/session';
import { uniquePrefix } from './support/demo-app.js';
import { startRedisServer, type RedisServerHandle } from './support/redis-server.js';

let server: RedisServerHandle;
let app: INestApplicationContext;

beforeAll(async () => {
  server = await startRedisServer();
  @Module({ imports: [TerminusModule.forRoot({ logger: false }), SessionModule.forRoot({ redis: { url: server.url }, keyPrefix: uniquePrefix('health') })] })
  class HealthModule {}
  app = await (await Test.createTestingModule({ imports: [HealthModule] }).compile()).init();
});

afterAll(async () => {
  server?.resume();
  await app?.close();
  await server?.stop();
});

describe('SessionHealthIndicator', () => {
  it('reports up under the given key', async () => {
    const indicator = app.get(SessionHealthIndicator);
    await expect(indicator.pingCheck()).resolves.toEqual({ session: { status: 'up' } });
    await expect(indicator.pingCheck('redis-sessions', { timeout: 500 })).resolves.toEqual({ 'redis-sessions': { status: 'up' } });
  });

  it('reports down within the timeout when Redis hangs, and terminus turns that into a 503 error', async () => {
    const indicator = app.get(SessionHealthIndicator);
    server.pause();
    try {
      const started = Date.now();
      const result = await indicator.pingCheck('session', { timeout: 300 });
      const took = Date.now() - started;
      expect(result).toEqual({ session: { status: 'down', message: 'The session store did not answer PING within 300 ms' } });
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(2000); // the timeout, not ioredis' 1 s command timeout or longer

      const health = app.get(HealthCheckService);
      await expect(health.check([() => indicator.pingCheck('session', { timeout: 300 })])).rejects.toMatchObject({
        status: 503,
        response: { status: 'error', error: { session: { status: 'down' } } },
      });
    } finally {
      server.resume();
    }
    await expect(indicator.pingCheck()).resolves.toEqual({ session: { status: 'up' } });
  });
});
