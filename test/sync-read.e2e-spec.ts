/**
 * The cached read path on a real Redis: SessionGuard answers a near-cache hit synchronously (no
 * promise for Nest to await), still refuses through a rejected promise, and requests served from
 * one cache entry never see each other's uncommitted changes (the entry's data is shared until a
 * request writes).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { SessionGuard, SessionModule, SessionService, type SessionStrategyName, type UserSession } from '../libs/session/src/index.js';
import { requestSession } from '../libs/session/src/request-session.js';
import { startRedisServer, type RedisServerHandle } from './support/redis-server.js';

@Controller()
class ReadController {
  @Get('me')
  me(): void {}
}

const JWT_SECRET = 'sync-read-spec-secret-0123456789abcdefghijklmnopq';

/** The context Nest gives a guard for GET /me carrying `request`. */
function contextFor(request: object): ExecutionContextHost {
  const context = new ExecutionContextHost([request, {}, () => undefined], ReadController, ReadController.prototype.me);
  context.setType('http');
  return context;
}

let server: RedisServerHandle;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server.stop();
});

describe.each<SessionStrategyName>(['session-id', 'hashed', 'jwt'])('a cached read with the %s strategy', (strategy) => {
  let app: INestApplicationContext;
  let guard: SessionGuard;
  let headers: Record<string, string>;

  beforeAll(async () => {
    const module = SessionModule.forRoot({
      redis: { url: server.url },
      strategy,
      cookie: { secure: false, name: 'sid' },
      cache: { maxEntries: 100, ttlMs: 60_000 },
      ...(strategy === 'jwt' ? { jwt: { secret: JWT_SECRET } } : {}),
    });
    app = await NestFactory.createApplicationContext({ module: class ReadModule {}, imports: [module], controllers: [ReadController] }, { logger: false });
    guard = app.get(SessionGuard);
    const { token } = await app.get(SessionService).create('alice', { theme: 'dark' });
    headers = strategy === 'jwt' ? { authorization: `Bearer ${token}` } : { cookie: `sid=${token}` };
    // Until the near-cache's invalidation link is up, reads go to Redis.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && (await read(headers)).answer !== true) await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(async () => {
    await app.close();
  });

  /** One guard call for a new request; `answer` is what canActivate returned, before any await. */
  async function read(requestHeaders: Record<string, string>) {
    const request = { headers: requestHeaders, method: 'GET', url: '/me' };
    const answer = guard.canActivate(contextFor(request));
    const settled = await answer;
    return { answer, settled, session: requestSession(request) as UserSession<{ theme: string; cart: number }> | undefined };
  }

  it('answers true synchronously on a repeat read, with the session attached', async () => {
    const { answer, session } = await read(headers);
    expect(answer).toBe(true);
    expect(session?.userId).toBe('alice');
    expect(session?.get('theme')).toBe('dark');
  });

  it('still refuses through a rejected promise, not a synchronous throw', async () => {
    const context = contextFor({ headers: {}, method: 'GET', url: '/me' });
    let answer: ReturnType<SessionGuard['canActivate']> | undefined;
    expect(() => (answer = guard.canActivate(context))).not.toThrow();
    await expect(answer).rejects.toMatchObject({ status: 401 });
  });

  it("keeps each request's changes to itself until they are saved", async () => {
    const first = (await read(headers)).session!;
    const second = (await read(headers)).session!;
    first.set('theme', 'light');
    first.set('cart', 3);
    second.delete('theme');
    expect(first.get('theme')).toBe('light');
    expect(second.get('theme')).toBeUndefined();
    expect(second.get('cart')).toBeUndefined();
    // A third request, served from the same cache entry, sees neither.
    const third = await read(headers);
    expect(third.answer).toBe(true);
    expect(third.session!.get('theme')).toBe('dark');
    expect(third.session!.has('cart')).toBe(false);
  });
});
