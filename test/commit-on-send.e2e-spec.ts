/**
 * `commit: 'on-send'` (saved as the response is about to be written: Fastify's onSend hook, or
 * Express's first write/end, instead of the global interceptor), beyond the demo's core contract
 * that test/adapters.e2e-spec.ts runs with it on both platforms: what differs from the interceptor
 * (an error answer saves nothing, a failed save reaches the app's global filters), a streamed
 * response, and what is refused (a bad value; gateways and GraphQL in session.guard.spec.ts).
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
  Res,
  StreamableFile,
  type ArgumentsHost,
  type ExceptionFilter,
  type INestApplication,
} from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Readable } from 'node:stream';
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

  /** A guest's first write, answered with a stream: written chunk by chunk on Express. */
  @AllowAnonymous()
  @Get('note/streamed')
  streamed(@Session() session: UserSession<Data>) {
    session.set('note', 'streamed');
    return new StreamableFile(Readable.from(['one ', 'two ', 'three']));
  }

  /** Express: sends its headers by hand, then ends; its save fails (its session is gone by then). */
  @Post('note/headers-first')
  async headersFirst(@Session() session: UserSession<Data>, @Res() res: { writeHead(status: number): void; end(body: string): void }) {
    await this.sessions.destroyAllForUser(session.userId!);
    session.set('note', 'too late');
    res.writeHead(200);
    res.end('saved, says the handler');
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
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: HttpException, host: ArgumentsHost): void {
    const body = { wrapped: true, status: error.getStatus(), message: error.message };
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), body, error.getStatus());
  }
}

let redis: SuiteRedis;

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

type Adapter = 'fastify' | 'express';

async function boot(commit: unknown, adapter: Adapter = 'fastify'): Promise<INestApplication> {
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
function bootedFor(commit: SessionCommitMode, adapter: Adapter = 'fastify'): () => INestApplication {
  let app: INestApplication | undefined;
  beforeAll(async () => {
    app = await boot(commit, adapter);
  });
  afterAll(async () => {
    await app?.close();
  });
  return () => app!;
}

describe.each<Adapter>(['fastify', 'express'])("commit: 'on-send' on %s", (adapter) => {
  const booted = bootedFor('on-send', adapter);
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

  it("sends a save that failed in the hook through the app's global filter (401, session gone)", async () => {
    const cookie = await signIn(app);
    const res = await request(app.getHttpServer()).post('/note/after-revoke').set('cookie', cookie);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ wrapped: true, status: 401 });
    expect((await request(app.getHttpServer()).get('/note').set('cookie', cookie)).status).toBe(401);
  });

  it("saves a streamed response's new session before its first byte: the cookie goes out with it", async () => {
    const res = await request(app.getHttpServer()).get('/note/streamed').buffer(true).parse((stream, done) => {
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (text += chunk));
      stream.on('end', () => done(null, text));
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('one two three');
    const sid = setCookies(res).find((c) => c.name === 'sid');
    expect(sid).toBeDefined();
    const next = await request(app.getHttpServer()).get('/note').set('cookie', `sid=${sid!.value}`);
    expect(next.body).toEqual({ note: 'streamed' });
  });
});

describe("commit: 'on-send' on Express, a handler that sent its headers itself", () => {
  const booted = bootedFor('on-send', 'express');

  it('closes the connection when the save fails, rather than answer a success', async () => {
    const cookie = await signIn(booted());
    const answer = request(booted().getHttpServer()).post('/note/headers-first').set('cookie', cookie);
    await expect(answer).rejects.toThrow(/socket hang up|ECONNRESET/);
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

describe("commit refused at startup", () => {
  it('for a value that is not a commit mode', async () => {
    await expect(boot('on-response')).rejects.toThrow('session: commit must be one of interceptor, on-send (got "on-response")');
  });
});
