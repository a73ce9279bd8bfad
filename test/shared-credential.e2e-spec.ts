/**
 * Several strategies reading the same cookie or header: session-id and hashed share the `cookie`
 * and `header` options, a JWT may travel in the same cookie (`jwt.transport: 'cookie'`) or in the
 * `Authorization` header an opaque token also uses. Their shapes never overlap, so each credential
 * must reach the strategy that issued it, whatever the order: a migration to hashed lists
 * ['hashed', 'session-id'] and must not sign out everyone holding a session-id cookie.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, Module, Post, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  AllowAnonymous,
  Session,
  SessionModule,
  SessionService,
  type SessionModuleOptions,
  type SessionStrategyName,
  type UserSession,
} from '@app/session';
import { setCookies, uniquePrefix, uniqueUser } from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

const JWT_SECRET = 'shared-credential-test-secret-0123456789abcdef';

@Controller()
class IssuingController {
  constructor(private readonly sessions: SessionService) {}

  @AllowAnonymous()
  @Post('issue')
  async issue(@Body() body: { user: string; strategy: SessionStrategyName }) {
    return { token: (await this.sessions.create(body.user, {}, { strategy: body.strategy })).token };
  }

  @Get('me')
  me(@Session() session: UserSession) {
    return { user: session.userId };
  }
}

let redis: SuiteRedis;

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

async function boot(options: Partial<SessionModuleOptions>): Promise<INestApplication> {
  @Module({
    imports: [SessionModule.forRoot({ redis: redis.redis, keyPrefix: uniquePrefix('shared'), cookie: { secure: false }, guard: 'global', ...options })],
    controllers: [IssuingController],
  })
  class SharedModule {}
  const app = (await Test.createTestingModule({ imports: [SharedModule] }).compile()).createNestApplication({ logger: false });
  await app.init();
  return app;
}

type Carrier = (token: string) => [string, string];
const inCookie: Carrier = (token) => ['cookie', `sid=${token}`];
const asBearer: Carrier = (token) => ['authorization', `Bearer ${token}`];

describe.each<[string, Partial<SessionModuleOptions>, Array<[SessionStrategyName, Carrier]>]>([
  ["['hashed', 'session-id'], one cookie", { strategy: ['hashed', 'session-id'] }, [['session-id', inCookie], ['hashed', inCookie]]],
  ["['session-id', 'hashed'], one cookie", { strategy: ['session-id', 'hashed'] }, [['session-id', inCookie], ['hashed', inCookie]]],
  [
    "['session-id', 'jwt'], the JWT in the same cookie",
    { strategy: ['session-id', 'jwt'], jwt: { secret: JWT_SECRET, transport: 'cookie' } },
    [['session-id', inCookie], ['jwt', inCookie]],
  ],
  [
    "['session-id', 'jwt'], both as a bearer token",
    { strategy: ['session-id', 'jwt'], cookie: false, header: 'authorization', jwt: { secret: JWT_SECRET } },
    [['session-id', asBearer], ['jwt', asBearer]],
  ],
])('strategies %s', (_label, options, carried) => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await boot(options);
  });

  afterAll(async () => {
    await app?.close();
  });

  it.each(carried)("opens a %s session from the credential its strategy issued, clearing nothing", async (strategy, carrier) => {
    const user = uniqueUser('shared');
    const issued = await request(app.getHttpServer()).post('/issue').send({ user, strategy });
    expect(issued.status).toBe(201);
    const me = await request(app.getHttpServer())
      .get('/me')
      .set(...carrier((issued.body as { token: string }).token));
    expect({ status: me.status, body: me.body as unknown, cleared: setCookies(me).length }).toEqual({ status: 200, body: { user }, cleared: 0 });
  });

  it('refuses a credential no strategy accepts (401), clearing a cookie once', async () => {
    const [header, value] = carried[0][1]('not-a-credential-of-any-shape');
    const me = await request(app.getHttpServer()).get('/me').set(header, value);
    expect(me.status).toBe(401);
    expect(setCookies(me).length).toBe(header === 'cookie' ? 1 : 0);
  });
});
