/**
 * One benchmark app in its own Node process. Chosen by the environment:
 *   BENCH_ADAPTER   express | fastify
 *   BENCH_STACK     bare | nest-floor | ours | express-session | fastify-session
 *   BENCH_STRATEGY  session-id | jwt | hashed          (ours)
 *   BENCH_CACHE     1 = near-cache on                  (ours)
 *   BENCH_BATCH_WRITES    0 = batchWrites: false         (ours; one socket write per command)
 *   BENCH_COMMIT    interceptor | on-send = that commit (ours; unset: the library's default, 'auto')
 *   BENCH_GATEWAY   1 = the app also has a socket.io gateway (ours; what commit: 'auto' then does for HTTP routes)
 *   BENCH_FLOOR     guard | interceptor | both (default) | sync-both | session-shape (nest-floor: which no-op enhancers; sync-both: the
 *                   guard answers `true`, not a promise; session-shape: that guard alone and a no-op custom parameter on the routes)
 *   REDIS_URL | REDIS_CLUSTER (JSON list of {host, port})
 *   BENCH_COMMAND_TIMEOUT_MS   (ours; the Redis client's commandTimeout: under valgrind a GC pause outlasts the default 1 s)
 * Prints `READY <port>` once it listens on 127.0.0.1 (an ephemeral port).
 */
import 'reflect-metadata';
import { Module, type DynamicModule, type INestApplication, type Provider, type Type } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SessionModule, type SessionCommitMode, type SessionModuleOptions, type SessionStrategyName } from '../../libs/session/src/index.js';
import {
  BareController,
  BenchGateway,
  ExpressSessionController,
  FastifySessionController,
  NoopAsyncGuard,
  NoopSyncGuard,
  OursController,
  PassThroughInterceptor,
  SessionShapeFloorController,
} from './routes.js';

export const BENCH_JWT_SECRET = 'bench-jwt-secret-0123456789abcdefghijklmnopqrstuv';
const COOKIE_SECRET = 'bench-cookie-secret-0123456789abcdefghijklmnopqrstuv';
const THIRTY_MINUTES_MS = 30 * 60 * 1000;

const env = process.env;
const adapter = env.BENCH_ADAPTER === 'fastify' ? 'fastify' : 'express';
const stack = env.BENCH_STACK ?? 'bare';
const floor = env.BENCH_FLOOR ?? 'both';

function oursOptions(): SessionModuleOptions {
  const strategy = (env.BENCH_STRATEGY ?? 'session-id') as SessionStrategyName;
  const redis: SessionModuleOptions['redis'] = env.REDIS_CLUSTER
    ? { cluster: { nodes: JSON.parse(env.REDIS_CLUSTER) as Array<{ host: string; port: number }> } }
    : { url: env.REDIS_URL as string, ...(env.BENCH_COMMAND_TIMEOUT_MS ? { options: { commandTimeout: Number(env.BENCH_COMMAND_TIMEOUT_MS) } } : {}) };
  return {
    redis,
    strategy,
    cookie: { secure: false },
    guard: 'global',
    ...(env.BENCH_BATCH_WRITES === '0' ? { batchWrites: false } : {}),
    ...(strategy === 'jwt' ? { jwt: { secret: BENCH_JWT_SECRET } } : {}),
    ...(env.BENCH_CACHE === '1' ? { cache: { maxEntries: 10_000, ttlMs: 30_000 } } : {}),
  };
}

/** The floor's no-op enhancers, or ours's gateway. */
function providers(): Provider[] {
  if (stack === 'ours') return env.BENCH_GATEWAY === '1' ? [BenchGateway] : [];
  if (stack !== 'nest-floor') return [];
  return [
    ...(floor === 'interceptor' ? [] : [{ provide: APP_GUARD, useClass: floor === 'sync-both' || floor === 'session-shape' ? NoopSyncGuard : NoopAsyncGuard }]),
    ...(floor === 'guard' || floor === 'session-shape' ? [] : [{ provide: APP_INTERCEPTOR, useClass: PassThroughInterceptor }]),
  ];
}

function rootModule(): DynamicModule {
  const controllers: Record<string, Type> = {
    bare: BareController,
    'nest-floor': floor === 'session-shape' ? SessionShapeFloorController : BareController,
    ours: OursController,
    'express-session': ExpressSessionController,
    'fastify-session': FastifySessionController,
  };
  @Module({})
  class BenchModule {}
  return {
    module: BenchModule,
    imports: stack === 'ours' ? [SessionModule.forRoot({ ...oursOptions(), ...(env.BENCH_COMMIT ? { commit: env.BENCH_COMMIT as SessionCommitMode } : {}) })] : [],
    controllers: [controllers[stack]],
    providers: providers(),
  };
}

/** connect-redis 9 takes a node-redis (`redis` package) client, not ioredis. */
async function connectRedisStore() {
  const { createClient } = await import('redis');
  const { RedisStore } = await import('connect-redis');
  const client = createClient({ url: env.REDIS_URL });
  client.on('error', (error: Error) => process.stderr.write(`node-redis: ${error.message}\n`));
  await client.connect();
  return new RedisStore({ client, prefix: 'sess:' });
}

async function create(): Promise<INestApplication> {
  const logger = ['error', 'warn'] as const;
  if (adapter === 'express') {
    const app = await NestFactory.create(rootModule(), { logger: [...logger] });
    if (stack === 'express-session') {
      const { default: session } = await import('express-session');
      // The settings the express-session and connect-redis docs recommend.
      app.use(
        session({
          store: await connectRedisStore(),
          secret: COOKIE_SECRET,
          resave: false,
          saveUninitialized: false,
          cookie: { maxAge: THIRTY_MINUTES_MS },
        }),
      );
    }
    return app;
  }
  const app = await NestFactory.create<NestFastifyApplication>(rootModule(), new FastifyAdapter(), { logger: [...logger] });
  if (stack === 'fastify-session') {
    const { default: fastifyCookie } = await import('@fastify/cookie');
    const { default: fastifySession } = await import('@fastify/session');
    await app.register(fastifyCookie);
    // @fastify/session's documented defaults (rolling: true), the same store and cookie lifetime.
    await app.register(fastifySession, {
      secret: COOKIE_SECRET,
      store: (await connectRedisStore()) as never,
      saveUninitialized: false,
      cookie: { secure: false, maxAge: THIRTY_MINUTES_MS },
    });
  }
  return app;
}

const app = await create();
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
const address = app.getHttpServer().address() as { port: number };
process.stdout.write(`READY ${address.port}\n`);
