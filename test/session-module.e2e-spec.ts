/**
 * How the module wires itself into an app: connection ownership, forRootAsync with
 * @nestjs/config, startup validation, isGlobal, custom strategies and the @Session() import trap.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Session as NestSession,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { Cluster, Redis } from 'ioredis';
import request from 'supertest';
import {
  AllowAnonymous,
  SESSION_REDIS,
  Session,
  SessionGuard,
  SessionIdStrategy,
  SessionDurabilityError,
  SessionModule,
  SessionService,
  type SessionModuleOptions,
  type UserSession,
} from '@app/session';
import { redisClientFor, startRedisServer, type RedisServerHandle } from './support/redis-server.js';

@Controller()
class ProbeController {
  @AllowAnonymous({ guests: true })
  @Get('visit')
  visit(@Session() session: UserSession<{ visits: number }>) {
    const visits = (session.get('visits') ?? 0) + 1;
    session.set('visits', visits);
    return { visits };
  }

  @Get('visits')
  visits(@Session('visits') visits: number | undefined) {
    return { visits: visits ?? null };
  }

  /** Uses @nestjs/common's decorator by mistake: it must still get our session. */
  @Get('wrong-import')
  wrongImport(@NestSession() session: UserSession<{ visits: number }>) {
    return { visits: session.get('visits') };
  }
}

async function boot(options: SessionModuleOptions, extra: { controllers?: unknown[] } = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [SessionModule.forRoot(options)],
    controllers: (extra.controllers ?? [ProbeController]) as never[],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

function cookieOf(response: request.Response): string {
  const header = response.headers['set-cookie'] as unknown as string[];
  return header[0].split(';')[0];
}

describe('SessionModule wiring', () => {
  let server: RedisServerHandle;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('closes a connection it created when the app closes', async () => {
    const app = await boot({ redis: { url: server.url }, cookie: { secure: false }, guard: 'global', keyPrefix: 'own:' });
    const client = app.get<Redis>(SESSION_REDIS);
    await request(app.getHttpServer()).get('/visit').expect(200);
    await app.close();
    // quit() resolves on Redis' OK; the socket finishes closing just after.
    for (let i = 0; i < 50 && client.status !== 'end'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(client.status).toBe('end');
  });

  it('SessionService.create with durability.writes reports a sign-in the replicas did not confirm, and leaves no session for it', async () => {
    // No replica: every WAIT is unconfirmed.
    const app = await boot({ redis: { url: server.url }, keyPrefix: 'durable-service:', durability: { replicas: 1, timeoutMs: 50, writes: true } });
    const service = app.get(SessionService);
    await expect(service.create('dana')).rejects.toBeInstanceOf(SessionDurabilityError);
    // Its token never reached the caller: nothing lives on that no client can present.
    expect(await service.listForUser('dana')).toEqual([]);
    await app.close();
  });

  it('never closes a client the app passed in', async () => {
    const client = await redisClientFor(server);
    const app = await boot({ redis: { client }, cookie: { secure: false }, guard: 'global', keyPrefix: 'lent:' });
    expect(app.get(SESSION_REDIS)).toBe(client);
    await request(app.getHttpServer()).get('/visit').expect(200);
    await app.close();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('works with forRootAsync and @nestjs/config, sessions shared by two app instances', async () => {
    const makeApp = async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ REDIS_URL: server.url })] }),
          SessionModule.forRootAsync({
            imports: [ConfigModule],
            inject: [ConfigService],
            useFactory: (config: ConfigService) => ({
              redis: { url: config.getOrThrow<string>('REDIS_URL') },
              cookie: { secure: false },
              guard: 'global',
              keyPrefix: 'async:',
            }),
          }),
        ],
        controllers: [ProbeController],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      return app;
    };
    const [a, b] = [await makeApp(), await makeApp()];
    const first = await request(a.getHttpServer()).get('/visit').expect(200);
    const cookie = cookieOf(first);
    const second = await request(b.getHttpServer()).get('/visit').set('Cookie', cookie).expect(200);
    expect(second.body).toEqual({ visits: 2 });
    await Promise.all([a.close(), b.close()]);
  });

  it('stops the app at startup with an error naming every bad option (forRootAsync too)', async () => {
    const compile = Test.createTestingModule({
      imports: [
        SessionModule.forRootAsync({
          useFactory: () => ({ store: 'memory', ttl: { idle: -5 }, keyPrefix: 'a{b}' }) as SessionModuleOptions,
        }),
      ],
    }).compile();
    await expect(compile).rejects.toThrow('session: ttl.idle must be a positive integer (got -5)');
    await expect(
      Test.createTestingModule({
        imports: [SessionModule.forRoot({ store: 'memory', ttl: { idle: -5 }, keyPrefix: 'a{b}' })],
      }).compile(),
    ).rejects.toThrow(/keyPrefix must be at most 64 characters without braces/);
  });

  it("refuses session options put beside forRootAsync's factory, where Nest would silently ignore them", () => {
    const misplaced = { ttl: { idle: 60 }, cache: { maxEntries: 10 }, isGlobal: true, useFactory: () => ({ store: 'memory' as const }) };
    expect(() => SessionModule.forRootAsync(misplaced as Parameters<typeof SessionModule.forRootAsync>[0])).toThrow(
      'session: ttl is a session option: return it from the factory with the others (forRootAsync({ useFactory: () => ({ ..., ttl }) }))\n' +
        'session: cache is a session option: return it from the factory with the others (forRootAsync({ useFactory: () => ({ ..., cache }) }))',
    );
  });

  it('names redis.url at startup when the URL is undefined (an unset REDIS_URL), and the README line compiles', async () => {
    const unsetUrl: string | undefined = undefined;
    await expect(Test.createTestingModule({ imports: [SessionModule.forRoot({ redis: { url: unsetUrl }, strategy: 'session-id' })] }).compile()).rejects.toThrow(
      'session: redis.url is undefined (an environment variable not set?)',
    );
  });

  it('refuses durable writes on Cluster at startup, for an app-provided Cluster client too', async () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    const durability = { replicas: 1, timeoutMs: 200, writes: true };
    try {
      for (const redis of [{ client: cluster }, { cluster: { nodes: [{ host: '127.0.0.1', port: 1 }] } }]) {
        await expect(Test.createTestingModule({ imports: [SessionModule.forRoot({ redis, durability })] }).compile()).rejects.toThrow(
          /durability\.writes is not supported on Redis Cluster/,
        );
      }
    } finally {
      cluster.disconnect();
    }
  });

  it("makes @nestjs/common's @Session() return our session instead of undefined", async () => {
    const app = await boot({ store: 'memory', cookie: { secure: false }, guard: 'global' });
    const cookie = cookieOf(await request(app.getHttpServer()).get('/visit').expect(200));
    await request(app.getHttpServer()).get('/wrong-import').set('Cookie', cookie).expect(200, { visits: 1 });
    await request(app.getHttpServer()).get('/visits').set('Cookie', cookie).expect(200, { visits: 1 });
    await app.close();
  });

  it('with guard manual, @UseGuards(SessionGuard) protects a controller and @Session() without a guard fails loudly', async () => {
    @Controller('guarded')
    @UseGuards(SessionGuard)
    class GuardedController {
      @Get() get(@Session() session: UserSession) {
        return { id: session.id };
      }
    }
    @Controller('unguarded')
    class UnguardedController {
      @Get() get(@Session() session: UserSession) {
        return { id: session?.id ?? 'silently undefined' };
      }
    }
    const app = await boot({ store: 'memory' }, { controllers: [GuardedController, UnguardedController] });
    await request(app.getHttpServer()).get('/guarded').expect(401);
    const loud = await request(app.getHttpServer()).get('/unguarded');
    expect(loud.status).toBe(500);
    expect(loud.text).not.toContain('silently undefined');
    await app.close();
  });

  it('shares SessionService everywhere with isGlobal', async () => {
    @Injectable()
    class Reporter {
      constructor(@Inject(SessionService) readonly sessions: SessionService) {}
    }
    @Module({ providers: [Reporter], exports: [Reporter] })
    class FeatureModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ store: 'memory', isGlobal: true }), FeatureModule],
    }).compile();
    const reporter = moduleRef.get(Reporter);
    const issued = await reporter.sessions.create('carol', { plan: 'pro' });
    expect(await reporter.sessions.get(issued.token)).toMatchObject({ userId: 'carol', data: { plan: 'pro' } });
    expect(await reporter.sessions.destroy(issued.token)).toBe(true);
    expect(await reporter.sessions.get(issued.token)).toBeNull();
    await moduleRef.close();
  });

  it('accepts an app-defined strategy class, created with dependency injection', async () => {
    @Injectable()
    class HeaderNameSource {
      readonly header = 'x-probe-session';
    }
    /** Reuses the session-id token format but reads it from a header the app chooses. */
    @Injectable()
    class ProbeHeaderStrategy extends SessionIdStrategy {
      override readonly name = 'probe-header';
      constructor(@Inject(HeaderNameSource) source: HeaderNameSource) {
        super({ cookie: null, header: source.header } as never);
      }
    }
    @Module({ providers: [HeaderNameSource], exports: [HeaderNameSource] })
    class SourceModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [
        SourceModule,
        SessionModule.forRootAsync({
          imports: [SourceModule],
          useFactory: () => ({ store: 'memory', strategy: ProbeHeaderStrategy, guard: 'global' }),
        }),
      ],
      controllers: [ProbeController],
      providers: [HeaderNameSource],
    }).compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const first = await request(app.getHttpServer()).get('/visit').expect(200);
    const token = first.headers['x-probe-session'] as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    await request(app.getHttpServer()).get('/visit').set('x-probe-session', token).expect(200, { visits: 2 });
    await app.close();
  });
});
