/**
 * `npm run bench:read-path` (about 10 s): the library's own CPU per read, with no HTTP around it.
 *
 * The HTTP benchmark (`npm run bench`) judges whole requests, whose cost on this shared 2-core
 * machine moves by more than the session layer costs. This one calls, in one process, what a read
 * runs through: SessionGuard.canActivate on an ExecutionContext (the credential read from the
 * cookie, the session found, the UserSession built and attached), then what `@Session()` and the
 * commit step do on a request that changed nothing (look the session up, find nothing to save).
 * Beside it, the same loop with a no-op async guard: what any guard costs to call. Ours runs with
 * the near-cache (no Redis command on a repeat read) for each strategy, and for session-id without
 * it too (one script call to a private redis-server per read; Redis's own CPU is not counted, only
 * this process's). 32 reads in flight,
 * like the benchmark's connections; the variants alternate over several rounds; each one's best
 * round counts (process.cpuUsage per read). The request is a plain object with a Cookie header,
 * not an Express request: Express's own per-request work is bench/run.ts's business.
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { SessionGuard, SessionModule, SessionService, type SessionStrategyName } from '../libs/session/src/index.js';
import { requestSession } from '../libs/session/src/request-session.js';
import { commitIfNoop } from '../libs/session/src/session-commit.js';
import { turnOrder } from './lib/alternating.js';
import { startRedisServer } from '../test/support/redis-server.js';

const READS = 20_000;
const IN_FLIGHT = 32;
const ROUNDS = 5;
const COOKIE = 'sid';

@Controller()
class MeController {
  @Get('me')
  me(): string {
    return 'me';
  }
}

/** Does nothing but look at the context it is given, as any guard must be called with one. */
@Injectable()
class NoopAsyncGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    return context.getType() === 'http';
  }
}

interface Variant {
  readonly name: string;
  /** One read for `request`; resolves when it is done. */
  read(request: object): Promise<unknown>;
  readonly close: () => Promise<void>;
  /** The request headers a read carries. */
  readonly headers: Record<string, string>;
}

const handler = MeController.prototype.me;

function contextFor(request: object): ExecutionContext {
  const context = new ExecutionContextHost([request, {}, () => undefined], MeController, handler);
  context.setType('http');
  return context;
}

const JWT_SECRET = 'read-path-bench-secret-0123456789abcdefghijklmnop';

async function oursVariant(name: string, url: string, cache: boolean, strategy: SessionStrategyName = 'session-id'): Promise<Variant> {
  @Module({
    imports: [
      SessionModule.forRoot({
        redis: { url },
        strategy,
        cookie: { secure: false, name: COOKIE },
        ...(strategy === 'jwt' ? { jwt: { secret: JWT_SECRET } } : {}),
        ...(cache ? { cache: { maxEntries: 10_000, ttlMs: 30_000 } } : {}),
      }),
    ],
    controllers: [MeController],
  })
  class OursModule {}
  const app = await NestFactory.createApplicationContext(OursModule, { logger: false });
  const guard = app.get(SessionGuard);
  const { token } = await app.get(SessionService).create('bench-user');
  return {
    name,
    // The jwt strategy reads a bearer token; the opaque-token ones a cookie.
    headers: strategy === 'jwt' ? { authorization: `Bearer ${token}` } : { cookie: `${COOKIE}=${token}` },
    async read(request) {
      await guard.canActivate(contextFor(request));
      // What @Session() and the commit step do on a read-only request.
      const session = requestSession(request);
      if (!session || session.userId !== 'bench-user' || !commitIfNoop(session)) throw new Error('the read did not find its session');
    },
    close: () => app.close(),
  };
}

async function baselineVariant(): Promise<Variant> {
  const guard = new NoopAsyncGuard();
  return {
    name: 'no-op async guard (baseline)',
    headers: { cookie: `${COOKIE}=unused` },
    read: (request) => guard.canActivate(contextFor(request)),
    close: async () => undefined,
  };
}

/** CPU µs per read over READS reads, IN_FLIGHT at a time. */
async function measure(variant: Variant): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < READS) {
      next++;
      await variant.read({ headers: variant.headers, method: 'GET', url: '/me' });
    }
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / READS;
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const variants: Variant[] = [];
  try {
    variants.push(
      await baselineVariant(),
      await oursVariant('session-id, near-cache hit', server.url, true),
      await oursVariant('session-id, 1 Redis round trip', server.url, false),
      await oursVariant('hashed, near-cache hit', server.url, true, 'hashed'),
      await oursVariant('jwt, near-cache hit', server.url, true, 'jwt'),
    );
    // Warm-up: the JIT settles before anything counts.
    for (const variant of variants) await measure(variant);
    const rounds = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of turnOrder(variants, round)) {
        const us = await measure(variant);
        rounds.get(variant.name)!.push(us);
        process.stdout.write(`round ${round + 1}: ${variant.name}: ${us.toFixed(2)} µs CPU per read\n`);
      }
    }
    const best = (name: string) => Math.min(...rounds.get(name)!);
    const baseline = best(variants[0].name);
    const lines = [
      `${READS.toLocaleString('en-US')} reads per round, ${IN_FLIGHT} in flight, ${ROUNDS} alternating rounds after a warm-up; Node ${process.version}`,
      '',
      '| read | CPU µs per read (best round) | each round | above the no-op guard |',
      '|---|--:|--:|--:|',
      ...variants.map((v) => {
        const each = rounds.get(v.name)!.map((us) => us.toFixed(2)).join(', ');
        return `| ${v.name} | ${best(v.name).toFixed(2)} | ${each} | ${(best(v.name) - baseline).toFixed(2)} |`;
      }),
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
  } finally {
    for (const variant of variants) await variant.close();
    await server.stop();
  }
}

await main();
