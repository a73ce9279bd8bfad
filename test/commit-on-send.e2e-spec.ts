/**
 * `commit: 'on-send'` (saved as the response is about to be written: Fastify's onSend hook, or
 * Express's first writeHead/write/end, instead of the global interceptor), beyond the demo's core contract
 * that test/adapters.e2e-spec.ts runs with it on both platforms: what differs from the interceptor
 * (an error answer saves nothing, a failed save reaches the app's global filters but not a
 * method-scoped one), a streamed response, the mode set through forRoot or forRootAsync's factory,
 * what `'auto'` does in an app with a gateway or a resolver (more in commit-auto-binding.e2e-spec.ts),
 * and what is refused at startup (a bad value, `commit` beside the factory, gateways and resolvers
 * under the global guard; a gateway or resolver that uses SessionGuard: session.guard.spec.ts).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  BadRequestException,
  Body,
  Catch,
  Controller,
  Get,
  HttpException,
  Injectable,
  Module,
  Post,
  Res,
  StreamableFile,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type ArgumentsHost,
  type CanActivate,
  type ExceptionFilter,
  type INestApplication,
  type Provider,
} from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { Resolver } from '@nestjs/graphql';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { WebSocketGateway } from '@nestjs/websockets';
import { Test } from '@nestjs/testing';
import compression from 'compression';
import { Readable } from 'node:stream';
import { of } from 'rxjs';
import request from 'supertest';
import {
  AllowAnonymous,
  Session,
  SessionCommitInterceptor,
  SessionModule,
  SessionService,
  type SessionCommitMode,
  type SessionModuleOptions,
  type UserSession,
} from '@app/session';
import { setCookies, uniquePrefix, uniqueUser } from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

type Data = { note: string };

/** A method-scoped filter that marks what it answers. */
@Catch(HttpException)
class ScopedFilter implements ExceptionFilter {
  catch(error: HttpException, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<{ status(code: number): { send(body: unknown): void } }>();
    response.status(error.getStatus()).send({ scoped: true, status: error.getStatus() });
  }
}

/** An app's own guard whose SessionService call the library refuses (a user id with a space). */
@Injectable()
class IssuesBadSessionGuard implements CanActivate {
  constructor(private readonly sessions: SessionService) {}

  async canActivate(): Promise<boolean> {
    await this.sessions.create('has space');
    return true;
  }
}

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

  /** A guest's first write answered with a body over compression()'s 1 KB threshold. */
  @AllowAnonymous()
  @Get('note/large')
  large(@Session() session: UserSession<Data>) {
    session.set('note', 'large');
    return { filler: 'x'.repeat(4096) };
  }

  /** Express: a guest's first write answered with headers sent by hand, then the body. */
  @AllowAnonymous()
  @Get('note/headers-by-hand')
  headersByHand(@Session() session: UserSession<Data>, @Res() res: { writeHead(status: number, headers: Record<string, string>): void; end(body: string): void }) {
    session.set('note', 'by hand');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('by hand');
  }

  @AllowAnonymous()
  @UseGuards(IssuesBadSessionGuard)
  @Get('note/guarded-by-app')
  guardedByApp() {
    return { ok: true };
  }

  /** Writes, then answers with an Observable that emits twice: Nest sends the last value. */
  @Post('note/emits-twice')
  emitsTwice(@Session() session: UserSession<Data>) {
    session.set('note', 'emitted twice');
    return of({ emitted: 'first' }, { emitted: 'last' });
  }

  /** Express: writes, then refuses with headers sent by hand: an error answer saves nothing. */
  @Post('note/refused-by-hand')
  refusedByHand(@Session() session: UserSession<Data>, @Res() res: { writeHead(status: number): void; end(body: string): void }) {
    session.set('note', 'from a refused request');
    res.writeHead(403);
    res.end('refused');
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

  /** The same, behind a method-scoped filter, which only the interceptor's failed save reaches. */
  @Post('note/after-revoke-scoped')
  @UseFilters(ScopedFilter)
  async afterRevokeScoped(@Session() session: UserSession<Data>) {
    return this.afterRevoke(session);
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
/** How the app configures the module: options inline, or from @nestjs/config through forRootAsync's factory. */
type Via = 'forRoot' | 'forRootAsync';

/** What else an app under test holds: its guard setting and providers beside the routes. */
interface Extras {
  readonly guard?: 'global' | 'manual';
  readonly providers?: Provider[];
  /** Express's `compression()` middleware in front of the routes. */
  readonly compress?: boolean;
}

function sessionModule(commit: unknown, via: Via, guard: Extras['guard'] = 'global') {
  const options = (): SessionModuleOptions => ({
    redis: redis.redis,
    keyPrefix: uniquePrefix('on-send'),
    cookie: { secure: false },
    guard,
  });
  if (via === 'forRoot') return SessionModule.forRoot({ ...options(), commit: commit as SessionCommitMode });
  return SessionModule.forRootAsync({
    imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ SESSION_COMMIT: commit })] })],
    inject: [ConfigService],
    useFactory: (config: ConfigService) => ({ ...options(), commit: config.get<SessionCommitMode>('SESSION_COMMIT') }),
  });
}

async function boot(commit: unknown, adapter: Adapter = 'fastify', via: Via = 'forRoot', extras: Extras = {}): Promise<INestApplication> {
  @Module({
    imports: [sessionModule(commit, via, extras.guard)],
    controllers: [NoteController],
    providers: [{ provide: APP_FILTER, useClass: WrappingFilter }, ...(extras.providers ?? [])],
  })
  class NoteModule {}
  const moduleRef = await Test.createTestingModule({ imports: [NoteModule] }).compile();
  const app = adapter === 'fastify' ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false }) : moduleRef.createNestApplication({ logger: false });
  if (extras.compress) app.use(compression());
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

/**
 * Express middleware that writes the headers before the body: compression() calls writeHead from
 * its own end(), before the library's end() is reached, and a handler may call res.writeHead().
 */
describe("commit: 'on-send' on Express, headers written before the body", () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await boot('on-send', 'express', 'forRoot', { compress: true });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('behind compression(), a sign-in answers with its cookie, and the next request reads what it saved', async () => {
    const cookie = await signIn(app);
    expect((await request(app.getHttpServer()).get('/note').set('cookie', cookie)).body).toEqual({ note: 'first' });
  });

  it("behind compression(), a guest's first write answered gzipped gets its cookie with the compressed body", async () => {
    const res = await request(app.getHttpServer()).get('/note/large').set('accept-encoding', 'gzip');
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect((res.body as { filler: string }).filler).toHaveLength(4096);
    const sid = setCookies(res).find((c) => c.name === 'sid');
    expect(sid).toBeDefined();
    expect((await request(app.getHttpServer()).get('/note').set('cookie', `sid=${sid!.value}`)).body).toEqual({ note: 'large' });
  });

  it("a handler's own res.writeHead() waits for the save: its cookie goes out with the headers", async () => {
    const res = await request(app.getHttpServer()).get('/note/headers-by-hand');
    expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: 'by hand' });
    const sid = setCookies(res).find((c) => c.name === 'sid');
    expect(sid).toBeDefined();
    expect((await request(app.getHttpServer()).get('/note').set('cookie', `sid=${sid!.value}`)).body).toEqual({ note: 'by hand' });
  });

  it('behind compression(), a failed save closes the connection rather than answer a success', async () => {
    const answer = request(app.getHttpServer()).post('/note/after-revoke').set('cookie', await signIn(app));
    await expect(answer).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect((await request(app.getHttpServer()).get('/note/large')).status).toBe(200);
  });
});

describe("commit: 'on-send' on Express, no middleware in front", () => {
  const booted = bootedFor('on-send', 'express');

  // compression()'s own writeHead sets the status before the library's sees the call; without it,
  // the status is only in the call's arguments.
  it("a handler's own res.writeHead(403) saves nothing, as any error answer", async () => {
    const app = booted();
    const cookie = await signIn(app);
    const res = await request(app.getHttpServer()).post('/note/refused-by-hand').set('cookie', cookie);
    expect({ status: res.status, text: res.text }).toEqual({ status: 403, text: 'refused' });
    expect((await request(app.getHttpServer()).get('/note').set('cookie', cookie)).body).toEqual({ note: 'first' });
  });
});

describe('the interceptor, for comparison', () => {
  const booted = bootedFor('interceptor');
  let app: INestApplication;

  beforeAll(() => {
    app = booted();
  });

  it.each<SessionCommitMode>(['interceptor', 'on-send'])('%s: a handler whose Observable emits twice is answered with the last value, after the save', async (commit) => {
    const own = commit === 'interceptor' ? app : await boot(commit, 'express');
    try {
      const cookie = await signIn(own);
      const res = await request(own.getHttpServer()).post('/note/emits-twice').set('cookie', cookie);
      expect({ status: res.status, body: res.body as unknown }).toEqual({ status: 201, body: { emitted: 'last' } });
      expect((await request(own.getHttpServer()).get('/note').set('cookie', cookie)).body).toEqual({ note: 'emitted twice' });
    } finally {
      if (own !== app) await own.close();
    }
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

describe.each<Via>(['forRoot', 'forRootAsync'])('the commit mode, set through %s', (via) => {
  // Every mode's enhancers are registered and the other mode's come out null (session-commit-mode.ts):
  // a spy on the interceptor shows Nest left it out, not merely that it did nothing.
  it.each<[SessionCommitMode, Adapter]>([
    ['on-send', 'express'],
    ['on-send', 'fastify'],
    ['interceptor', 'express'],
  ])("%s on %s: only the interceptor's failed save reaches a method-scoped filter", async (commit, adapter) => {
    const intercept = jest.spyOn(SessionCommitInterceptor.prototype, 'intercept');
    const app = await boot(commit, adapter, via);
    try {
      const cookie = await signIn(app);
      const res = await request(app.getHttpServer()).post('/note/after-revoke-scoped').set('cookie', cookie);
      expect(res.status).toBe(401);
      if (commit === 'on-send') {
        expect(res.body).toMatchObject({ wrapped: true, status: 401 });
        expect(intercept).not.toHaveBeenCalled();
      } else {
        expect(res.body).toEqual({ scoped: true, status: 401 });
        expect(intercept).toHaveBeenCalledTimes(2);
      }
    } finally {
      intercept.mockRestore();
      await app.close();
    }
  });

  it.each<[SessionCommitMode, Adapter]>([
    ['on-send', 'express'],
    ['interceptor', 'express'],
    ['interceptor', 'fastify'],
  ])("%s on %s: the library's error thrown by an app's guard is answered with its status (400), not a 500", async (commit, adapter) => {
    const app = await boot(commit, adapter, via);
    try {
      const res = await request(app.getHttpServer()).get('/note/guarded-by-app');
      expect({ status: res.status, message: (res.body as { message?: string }).message }).toEqual({
        status: 400,
        message: expect.stringMatching(/printable characters without braces or spaces/),
      });
    } finally {
      await app.close();
    }
  });

  it("on-send on Express: a failed save after the handler sent its own headers closes the connection rather than answer a success", async () => {
    const app = await boot('on-send', 'express', via);
    try {
      const answer = request(app.getHttpServer()).post('/note/headers-first').set('cookie', await signIn(app));
      await expect(answer).rejects.toThrow(/socket hang up|ECONNRESET/);
    } finally {
      await app.close();
    }
  });
});

@WebSocketGateway()
class ChatGateway {}

@Resolver()
class NoteResolver {}

describe("commit: 'auto', the default: on-send for HTTP routes, the interceptor bound to gateways and resolvers alone", () => {
  // Told apart by what only one mode does: the interceptor runs, and its failed save reaches a
  // method-scoped filter; on-send registers no interceptor, and the failure reaches the global filter.
  async function modeOf(commit: unknown, adapter: Adapter, via: Via, extras: Extras = {}, whileUp?: () => void): Promise<'interceptor' | 'on-send'> {
    const intercept = jest.spyOn(SessionCommitInterceptor.prototype, 'intercept');
    const app = await boot(commit, adapter, via, extras);
    try {
      const res = await request(app.getHttpServer()).post('/note/after-revoke-scoped').set('cookie', await signIn(app));
      expect(res.status).toBe(401);
      const mode = intercept.mock.calls.length > 0 ? 'interceptor' : 'on-send';
      expect(res.body).toMatchObject(mode === 'interceptor' ? { scoped: true, status: 401 } : { wrapped: true, status: 401 });
      whileUp?.();
      return mode;
    } finally {
      intercept.mockRestore();
      await app.close();
    }
  }

  it.each<[Adapter, Via]>([
    ['express', 'forRoot'],
    ['fastify', 'forRootAsync'],
  ])('an app of HTTP routes only on %s (%s, commit unset) saves on send, with no interceptor', async (adapter, via) => {
    expect(await modeOf(undefined, adapter, via)).toBe('on-send');
    expect(await modeOf('auto', adapter, via)).toBe('on-send');
  });

  // That the bound interceptor saves what gateway messages and resolvers change: the transport
  // suites (test/websocket.e2e-spec.ts, test/graphql.e2e-spec.ts), whose app leaves commit unset.
  it.each<[string, Adapter, Provider]>([
    ['a WebSocket gateway', 'express', ChatGateway],
    ['a GraphQL resolver', 'fastify', NoteResolver],
  ])('an app with %s on %s saves its HTTP routes on send, and binds the interceptor to that class while it runs', async (_kind, adapter, provider) => {
    const bound = () => interceptorsOf(provider as Function).filter((interceptor) => interceptor instanceof SessionCommitInterceptor);
    expect(await modeOf(undefined, adapter, 'forRoot', { providers: [provider] }, () => expect(bound()).toHaveLength(1))).toBe('on-send');
    expect(bound()).toEqual([]);
  });

  it("leaves a class the app bound the interceptor to by hand as it is, and then saves it on send too (guard: 'global' accepted)", async () => {
    @UseInterceptors(SessionCommitInterceptor)
    @WebSocketGateway()
    class BoundByHandGateway {}
    const before = interceptorsOf(BoundByHandGateway);
    expect(await modeOf('auto', 'express', 'forRoot', { providers: [BoundByHandGateway] }, () => expect(interceptorsOf(BoundByHandGateway)).toEqual(before))).toBe('on-send');
    expect(await modeOf('on-send', 'express', 'forRoot', { providers: [BoundByHandGateway] })).toBe('on-send');
  });
});

const interceptorsOf = (type: Function): unknown[] => (Reflect.getMetadata(INTERCEPTORS_METADATA, type) ?? []) as unknown[];

describe('commit refused at startup', () => {
  it.each<Via>(['forRoot', 'forRootAsync'])('for a value that is not a commit mode (%s)', async (via) => {
    await expect(boot('on-response', 'fastify', via)).rejects.toThrow(`session: commit must be 'auto', 'interceptor' or 'on-send' (got "on-response")`);
  });

  it.each<[string, Provider]>([
    ['a WebSocket gateway', ChatGateway],
    ['a GraphQL resolver', NoteResolver],
  ])("with guard: 'global' and %s, whose sessions on-send would never save", async (_kind, provider) => {
    const refused = boot('on-send', 'express', 'forRoot', { providers: [provider] });
    await expect(refused).rejects.toThrow(`session: commit: 'on-send' saves HTTP responses only, but guard: 'global' would load sessions for ${(provider as Function).name} too`);
  });

  it("but not with guard: 'manual', where SessionGuard refuses such a handler only if one uses it", async () => {
    const app = await boot('on-send', 'express', 'forRoot', { guard: 'manual', providers: [ChatGateway, NoteResolver] });
    await app.close();
  });

  it("beside forRootAsync's factory, where Nest would ignore it", () => {
    const misplaced = { commit: 'on-send', useFactory: () => ({ store: 'memory' as const }) };
    expect(() => SessionModule.forRootAsync(misplaced as Parameters<typeof SessionModule.forRootAsync>[0])).toThrow(
      'session: commit is a session option: return it from the factory with the others',
    );
  });
});
