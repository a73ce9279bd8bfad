/**
 * `commit: 'on-send'` (Fastify's onSend hook instead of the global interceptor), beyond the demo's
 * core contract that test/adapters.e2e-spec.ts runs with it: what differs from the interceptor
 * (an error answer saves nothing, a failed save reaches the app's global filters) and what is
 * refused (another platform, a bad value, a gateway or GraphQL handler).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BadRequestException,
  Body,
  Catch,
  Controller,
  Get,
  HttpException,
  Module,
  Post,
  type ArgumentsHost,
  type ExceptionFilter,
  type INestApplication,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AllowAnonymous, Session, SessionModule, SessionService, type SessionCommitMode, type UserSession } from '@app/session';
import { setCookies, uniquePrefix, uniqueUser } from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

type Data = { note: string };

@Controller()
class NoteController {
  constructor(private readonly sessions: SessionService) {}

  @AllowAnonymous()
  @Post('login')
  async login(@Body() body: { user: string }, @Session() session: UserSession<Data>) {
    await session.logIn(body.user);
    session.set('note', 'first');
    return { ok: true };
  }

  @Get('note')
  note(@Session('note') note: string | undefined) {
    return { note: note ?? null };
  }

  /** Writes, then fails: the write must not be saved. */
  @Post('note/then-fail')
  thenFail(@Session() session: UserSession<Data>) {
    session.set('note', 'from a failed request');
    throw new BadRequestException('refused after writing');
  }

  /** Ends its own session, then writes: the save finds the session gone (401 at commit time). */
  @Post('note/after-revoke')
  async afterRevoke(@Session() session: UserSession<Data>) {
    await this.sessions.destroyAllForUser(session.userId!);
    session.set('note', 'too late');
    return { ok: true };
  }
}

/** An app's global filter: wraps every HttpException so a test can tell it ran. */
@Catch(HttpException)
class WrappingFilter implements ExceptionFilter {
  catch(error: HttpException, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<{ code(status: number): { send(body: unknown): void } }>();
    reply.code(error.getStatus()).send({ wrapped: true, status: error.getStatus(), message: error.message });
  }
}

let redis: SuiteRedis;

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

async function boot(commit: unknown, adapter: 'fastify' | 'express' = 'fastify'): Promise<INestApplication> {
  @Module({
    imports: [
      SessionModule.forRoot({
        commit: commit as SessionCommitMode,
        redis: redis.redis,
        keyPrefix: uniquePrefix('on-send'),
        cookie: { secure: false },
        guard: 'global',
      }),
    ],
    controllers: [NoteController],
    providers: [{ provide: APP_FILTER, useClass: WrappingFilter }],
  })
  class NoteModule {}
  const moduleRef = await Test.createTestingModule({ imports: [NoteModule] }).compile();
  const app = adapter === 'fastify' ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false }) : moduleRef.createNestApplication({ logger: false });
  try {
    await app.init();
  } catch (error) {
    await app.close();
    throw error;
  }
  if (adapter === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  return app;
}

async function signIn(app: INestApplication): Promise<string> {
  const login = await request(app.getHttpServer()).post('/login').send({ user: uniqueUser('note') });
  expect(login.status).toBe(201);
  const sid = setCookies(login).find((c) => c.name === 'sid');
  expect(sid).toBeDefined();
  return `sid=${sid!.value}`;
}

/** One app per describe block, booted before its tests and closed after them. */
function bootedFor(commit: SessionCommitMode): () => INestApplication {
  let app: INestApplication | undefined;
  beforeAll(async () => {
    app = await boot(commit);
  });
  afterAll(async () => {
    await app?.close();
  });
  return () => app!;
}

describe("commit: 'on-send' on Fastify", () => {
  const booted = bootedFor('on-send');
  let app: INestApplication;

  beforeAll(() => {
    app = booted();
  });

  it('saves the sign-in and its write before the response: the next request reads them', async () => {
    const cookie = await signIn(app);
    expect((await request(app.getHttpServer()).get('/note').set('cookie', cookie)).body).toEqual({ note: 'first' });
  });

  it('saves nothing for a request that wrote, then failed (400), as the interceptor does', async () => {
    const cookie = await signIn(app);
    const failed = await request(app.getHttpServer()).post('/note/then-fail').set('cookie', cookie);
    expect(failed.status).toBe(400);
    expect((await request(app.getHttpServer()).get('/note').set('cookie', cookie)).body).toEqual({ note: 'first' });
  });

  it("sends a save that failed in the onSend hook through the app's global filter (401, session gone)", async () => {
    const cookie = await signIn(app);
    const res = await request(app.getHttpServer()).post('/note/after-revoke').set('cookie', cookie);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ wrapped: true, status: 401 });
    expect((await request(app.getHttpServer()).get('/note').set('cookie', cookie)).status).toBe(401);
  });
});

describe('the interceptor (default), for comparison', () => {
  const booted = bootedFor('interceptor');
  let app: INestApplication;

  beforeAll(() => {
    app = booted();
  });

  it('answers the same two cases the same way', async () => {
    const cookie = await signIn(app);
    expect((await request(app.getHttpServer()).post('/note/then-fail').set('cookie', cookie)).status).toBe(400);
    expect((await request(app.getHttpServer()).get('/note').set('cookie', cookie)).body).toEqual({ note: 'first' });
    const gone = await request(app.getHttpServer()).post('/note/after-revoke').set('cookie', cookie);
    expect(gone.status).toBe(401);
    expect(gone.body).toMatchObject({ wrapped: true, status: 401 });
  });
});

describe("commit: 'on-send' refused at startup", () => {
  it('on Express, naming the option and the platform', async () => {
    await expect(boot('on-send', 'express')).rejects.toThrow(
      "session: commit: 'on-send' saves sessions from Fastify's onSend hook, but this app runs on express",
    );
  });

  it('for a value that is not a commit mode', async () => {
    await expect(boot('on-response')).rejects.toThrow('session: commit must be one of interceptor, on-send (got "on-response")');
  });
});
