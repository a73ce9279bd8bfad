/**
 * A save that fails after the response's headers already went out: the handler answered by itself
 * (`@Res()` without passthrough, or `res.writeHead()` under `commit: 'on-send'`) and the store then
 * refused the write with a 503-class error, which wants a `Retry-After` header that can no longer
 * be set. The process must not die of an unhandled rejection, the failure must be logged (the
 * client was told "saved"), and the app must go on answering.
 *
 * The failure is made deterministic with `durability.writes` on a Redis without replicas: every
 * write's `WAIT` is unconfirmed, a SessionDurabilityError (503 + Retry-After) when nothing was sent yet.
 * The session is signed in through a second app on the same Redis and prefix without `durability`,
 * so the failing write needs no new cookie.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, Get, Logger, Post, Res, type INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AllowAnonymous, Session, SessionModule, type SessionCommitMode, type UserSession } from '@app/session';
import { setCookies, uniquePrefix, uniqueUser } from './support/demo-app.js';
import { failOnProcessErrors } from './support/fault-drill.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

type Data = { note: string };
type ExpressResponse = { json(body: unknown): void; writeHead(status: number): void; end(body: string): void };
type FastifyReply = { send(body: unknown): void };

@Controller()
class AnswersItselfController {
  @AllowAnonymous()
  @Post('login')
  async login(@Session() session: UserSession<Data>) {
    await session.logIn(uniqueUser('after-send'));
    return { ok: true };
  }

  /** A write answered by the handler itself: the save comes after the answer. */
  @Post('express/answers-itself')
  expressAnswers(@Session() session: UserSession<Data>, @Res() res: ExpressResponse) {
    session.set('note', 'after the answer');
    res.json({ saved: 'says the handler' });
  }

  @Post('express/headers-first')
  expressHeadersFirst(@Session() session: UserSession<Data>, @Res() res: ExpressResponse) {
    session.set('note', 'after the headers');
    res.writeHead(200);
    res.end('saved, says the handler');
  }

  @Post('fastify/answers-itself')
  fastifyAnswers(@Session() session: UserSession<Data>, @Res() reply: FastifyReply) {
    session.set('note', 'after the answer');
    reply.send({ saved: 'says the handler' });
  }

  /** Reads nothing from the store: shows the app still answers after the failed save. */
  @AllowAnonymous()
  @Get('alive')
  alive() {
    return { alive: true };
  }
}

let redis: SuiteRedis;
failOnProcessErrors();

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

afterEach(() => {
  jest.restoreAllMocks();
});

const keyPrefix = uniquePrefix('after-send');

async function boot(adapter: 'express' | 'fastify', commit: SessionCommitMode, durableWrites: boolean): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      SessionModule.forRoot({
        redis: redis.redis,
        keyPrefix,
        cookie: { secure: false },
        guard: 'global',
        commit,
        ...(durableWrites ? { durability: { replicas: 1, timeoutMs: 50, writes: true } } : {}),
      }),
    ],
    controllers: [AnswersItselfController],
  }).compile();
  const app = adapter === 'fastify' ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter()) : moduleRef.createNestApplication();
  await app.init();
  if (adapter === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  return app;
}

/** Resolves once the library logged an error whose text matches `pattern` (bounded: 3 s). */
function loggedError(pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing logged matching ${pattern}`)), 3000);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(function (this: Logger, message: unknown) {
      if (pattern.test(String(message))) {
        clearTimeout(timer);
        resolve(String(message));
      }
    });
  });
}

describe.each([
  ['express', 'interceptor', 'express/answers-itself'],
  ['fastify', 'interceptor', 'fastify/answers-itself'],
  ['express', 'on-send', 'express/headers-first'],
] as const)('%s, commit: %s, a handler that answers by itself (%s)', (adapter, commit, path) => {
  it('logs the failed save instead of crashing, and the app goes on answering', async () => {
    const signIn = await boot(adapter, commit, false);
    const cookie = setCookies(await request(signIn.getHttpServer()).post('/login').expect(201)).map((c) => `${c.name}=${c.value}`);
    await signIn.close();
    const app = await boot(adapter, commit, true);
    try {
      const logged = loggedError(/session save failed after the response/i);
      const answer = await request(app.getHttpServer())
        .post(`/${path}`)
        .set('Cookie', cookie)
        .then((res) => ({ status: res.status, error: null as string | null }), (error: Error) => ({ status: 0, error: error.message }));
      // With the interceptor the handler's own answer already went out; on-send holds nothing back
      // once the headers are out, and closes the connection rather than finish a success.
      if (commit === 'interceptor') expect(answer).toEqual({ status: 201, error: null });
      else expect(answer.error).toMatch(/socket hang up|ECONNRESET|aborted/);
      expect(await logged).toMatch(/durability|replica/i);
      expect((await request(app.getHttpServer()).get('/alive')).body).toEqual({ alive: true });
    } finally {
      await app.close();
    }
  });
});
