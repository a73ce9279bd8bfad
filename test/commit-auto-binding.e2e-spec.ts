/**
 * `commit: 'auto'` in an app with gateways and GraphQL resolvers, on a real Redis: the HTTP routes
 * save on send and SessionCommitInterceptor is bound to those classes alone (HandlerCommitBinding).
 * What the transport suites (websocket, graphql) do not show: the binding holds while the app
 * shuts down, binds each class of a class hierarchy once and restores the metadata after (also
 * with two apps of one process), covers a resolver given as a value and warns of one made by a
 * factory it could not bind, and a GraphQL request saves what its fields write when one of them
 * fails first (the answer goes out before the others finish), when one returns no value, or when
 * an app's timeout() interceptor gives up on one.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Injectable,
  Logger,
  Module,
  Post,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type INestApplication,
  type Provider,
} from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { AddressInfo } from 'node:net';
import { EMPTY, timeout, type Observable } from 'rxjs';
import request from 'supertest';
import { AllowAnonymous, Session, SessionCommitInterceptor, SessionModule, type SessionCommitMode, type UserSession } from '@app/session';
import { setCookies, sleep, uniquePrefix, uniqueUser } from './support/demo-app.js';
import { connect } from './support/socket-client.js';
import { startRedisServer, type RedisServerHandle } from './support/redis-server.js';

jest.setTimeout(30_000);

type Counted = UserSession<{ n?: number }>;

const bump = (session: Counted): number => {
  const n = (session.get('n') ?? 0) + 1;
  session.set('n', n);
  return n;
};

@Controller()
class CountController {
  @AllowAnonymous()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { user: string }, @Session() session: Counted) {
    await session.logIn(body.user);
    return { ok: true };
  }

  @Get('n')
  n(@Session() session: Counted) {
    return { n: session.get('n') ?? 0 };
  }
}

@WebSocketGateway()
class CountGateway {
  @SubscribeMessage('bump')
  bump(@MessageBody() _body: unknown, @Session() session: Counted) {
    return bump(session);
  }
}

/** A gateway that inherits its handler, beside its parent. */
@WebSocketGateway({ namespace: 'child' })
class ChildCountGateway extends CountGateway {}

@Resolver()
class CountResolver {
  @Mutation(() => Int)
  bump(@Session() session: Counted): number {
    return bump(session);
  }

  /** Outlasts the app's 200 ms timeout() interceptor (TimeoutInterceptor). */
  @Mutation(() => Int, { nullable: true })
  async outlastsTimeout(): Promise<number> {
    await sleep(600);
    return 0;
  }

  @Mutation(() => Int, { nullable: true })
  returnsNothing(): Observable<number> {
    return EMPTY;
  }

  @Query(() => Int)
  failsAtOnce(): number {
    throw new Error('this field fails before its sibling finishes');
  }

  @Query(() => Int, { nullable: true })
  async writesLater(@Session() session: Counted): Promise<number> {
    await sleep(100);
    session.set('n', 42);
    return 42;
  }
}

/** An app's own global interceptor that gives up on a handler after 200 ms, a common pattern. */
@Injectable()
class TimeoutInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(timeout(200));
  }
}

/** Holds the shutdown open between the modules' destroy hooks and the servers' close, as a drain period does. */
@Injectable()
class Drain implements BeforeApplicationShutdown {
  static entered: () => void = () => undefined;
  static held: Promise<void> = Promise.resolve();

  async beforeApplicationShutdown(): Promise<void> {
    Drain.entered();
    await Drain.held;
  }
}

let server: RedisServerHandle;
let prefix: string;

beforeAll(async () => {
  server = await startRedisServer();
  prefix = uniquePrefix('auto-binding');
});

afterAll(async () => {
  await server?.stop();
});

interface AppShape {
  readonly providers?: Provider[];
  readonly graphql?: boolean;
  /** Unset: 'auto'. */
  readonly commit?: SessionCommitMode;
}

async function boot(shape: AppShape): Promise<{ app: INestApplication; url: string }> {
  @Module({})
  class AppModule {}
  const root: DynamicModule = {
    module: AppModule,
    imports: [
      SessionModule.forRoot({ redis: { url: server.url }, keyPrefix: prefix, cookie: { secure: false }, guard: 'global', ...(shape.commit ? { commit: shape.commit } : {}) }),
      ...(shape.graphql ? [GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, sortSchema: true })] : []),
    ],
    controllers: [CountController],
    providers: shape.providers ?? [],
  };
  const moduleRef = await Test.createTestingModule({ imports: [root] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close();
    throw error;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}` };
}

async function signIn(app: INestApplication): Promise<string> {
  const res = await request(app.getHttpServer()).post('/login').send({ user: uniqueUser('auto') }).expect(200);
  const [cookie] = setCookies(res);
  return `${cookie!.name}=${cookie!.value}`;
}

const gql = (app: INestApplication, query: string, cookie: string) => request(app.getHttpServer()).post('/graphql').set('cookie', cookie).send({ query });

const boundInterceptors = (type: Function): unknown[] =>
  ((Reflect.getMetadata(INTERCEPTORS_METADATA, type) ?? []) as unknown[]).filter((interceptor) => interceptor instanceof SessionCommitInterceptor);

/** What another instance of the app reads for `cookie` (the first app is closed by then). */
async function storedCount(cookie: string): Promise<number> {
  const { app } = await boot({});
  try {
    return (await request(app.getHttpServer()).get('/n').set('cookie', cookie).expect(200)).body.n;
  } finally {
    await app.close();
  }
}

describe('gateways', () => {
  it('a message answered while the app shuts down (after the destroy hooks, before the servers close) is still saved', async () => {
    const { app, url } = await boot({ providers: [CountGateway, Drain] });
    const cookie = await signIn(app);
    const socket = await connect(url, { cookie });
    expect(await socket.ack('bump')).toBe(1);
    let release!: () => void;
    Drain.held = new Promise((resolve) => (release = resolve));
    const draining = new Promise<void>((resolve) => (Drain.entered = resolve));
    const closing = app.close();
    try {
      await draining;
      expect(await socket.ack('bump')).toBe(2);
    } finally {
      release();
      socket.close();
      await closing;
      Drain.held = Promise.resolve();
    }
    expect(await storedCount(cookie)).toBe(2);
  });

  it('binds a class once for two apps of one process, and gives it its own metadata back when the last closes, in either order', async () => {
    for (const closeFirst of ['first', 'second'] as const) {
      const first = await boot({ providers: [CountGateway] });
      const second = await boot({ providers: [CountGateway] });
      expect(boundInterceptors(CountGateway)).toHaveLength(1);
      await (closeFirst === 'first' ? first : second).app.close();
      expect(boundInterceptors(CountGateway)).toHaveLength(1);
      await (closeFirst === 'first' ? second : first).app.close();
      expect(Reflect.getOwnMetadata(INTERCEPTORS_METADATA, CountGateway)).toBeUndefined();
    }
  });

  it('binds a gateway and the gateway that extends it once each, and gives both their own metadata back at close', async () => {
    const { app, url } = await boot({ providers: [CountGateway, ChildCountGateway] });
    try {
      expect([boundInterceptors(CountGateway), boundInterceptors(ChildCountGateway)].map((bound) => bound.length)).toEqual([1, 1]);
      const cookie = await signIn(app);
      const child = await connect(`${url}/child`, { cookie });
      expect(await child.ack('bump')).toBe(1);
      expect(await child.ack('bump')).toBe(2);
      child.close();
    } finally {
      await app.close();
    }
    expect([Reflect.getOwnMetadata(INTERCEPTORS_METADATA, CountGateway), Reflect.getOwnMetadata(INTERCEPTORS_METADATA, ChildCountGateway)]).toEqual([
      undefined,
      undefined,
    ]);
  });
});

describe('GraphQL resolvers', () => {
  it('a field that writes after a failed non-null sibling already ended the answer still has its write saved', async () => {
    const { app } = await boot({ graphql: true, providers: [CountResolver] });
    try {
      const cookie = await signIn(app);
      const early = await gql(app, '{ failsAtOnce writesLater }', cookie);
      expect(early.body.data).toBeNull();
      // The answer went out before writesLater finished; its commit follows it (bounded wait: 5 s).
      const readCount = async () => (await request(app.getHttpServer()).get('/n').set('cookie', cookie).expect(200)).body.n as number;
      let n = await readCount();
      for (let waited = 0; n !== 42 && waited < 5_000; waited += 50) {
        await sleep(50);
        n = await readCount();
      }
      expect(n).toBe(42);
    } finally {
      await app.close();
    }
  });

  // The same holds under commit: 'interceptor', which shares the resolvers' commit.
  describe.each<[string, SessionCommitMode | undefined]>([
    ["commit: 'auto'", undefined],
    ["commit: 'interceptor'", 'interceptor'],
  ])('a field that ends without a value (%s)', (_label, commit) => {
    const withTimeout = [CountResolver, { provide: APP_INTERCEPTOR, useClass: TimeoutInterceptor }];

    it("given up on by the app's timeout() interceptor: the fields around it are saved, as the answer says", async () => {
      const { app } = await boot({ graphql: true, commit, providers: withTimeout });
      try {
        const cookie = await signIn(app);
        const answer = await gql(app, 'mutation { a: bump late: outlastsTimeout b: bump }', cookie);
        expect(answer.body.data).toEqual({ a: 1, late: null, b: 2 });
        expect((await request(app.getHttpServer()).get('/n').set('cookie', cookie).expect(200)).body).toEqual({ n: 2 });
      } finally {
        await app.close();
      }
    });

    it('returning an Observable that completes empty: the fields around it are saved, as the answer says', async () => {
      const { app } = await boot({ graphql: true, commit, providers: [CountResolver] });
      try {
        const cookie = await signIn(app);
        const answer = await gql(app, 'mutation { a: bump none: returnsNothing b: bump }', cookie);
        expect(answer.body.data).toMatchObject({ a: 1, b: 2 });
        expect((await request(app.getHttpServer()).get('/n').set('cookie', cookie).expect(200)).body).toEqual({ n: 2 });
      } finally {
        await app.close();
      }
    });
  });

  it('saves what a resolver given as a value (useValue, as a test override) writes', async () => {
    const { app } = await boot({ graphql: true, providers: [{ provide: CountResolver, useValue: new CountResolver() }] });
    try {
      const cookie = await signIn(app);
      expect((await gql(app, 'mutation { bump }', cookie)).body).toEqual({ data: { bump: 1 } });
      expect((await gql(app, 'mutation { bump }', cookie)).body).toEqual({ data: { bump: 2 } });
    } finally {
      await app.close();
    }
  });

  // Nest builds every module's providers at once; an async factory that waits finishes after the binding.
  it('warns at startup of a resolver made by a factory after the binding, naming it, and the guard refuses its resolvers', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const madeLater = async () => {
      await sleep(50);
      return new CountResolver();
    };
    const { app } = await boot({ graphql: true, providers: [{ provide: CountResolver, useFactory: madeLater }] });
    try {
      expect(warn.mock.calls.map(([message]) => message)).toContainEqual(
        "commit: 'auto' could not bind SessionCommitInterceptor to the GraphQL resolver(s) CountResolver, made by a factory after it bound the others: " +
          "SessionGuard refuses their resolvers. Put @UseInterceptors(SessionCommitInterceptor) on those classes, or use commit: 'interceptor'",
      );
      const refused = await gql(app, 'mutation { bump }', await signIn(app));
      expect(refused.body.errors.map((error: { message: string }) => error.message)).toEqual([
        expect.stringContaining('SessionGuard ran for a GraphQL resolver that SessionCommitInterceptor does not run on'),
      ]);
    } finally {
      warn.mockRestore();
      await app.close();
    }
  });
});
