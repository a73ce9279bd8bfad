/**
 * `npm run bench:read-path` (about half a minute): the library's own cost per read, with no HTTP
 * around it.
 *
 * The HTTP benchmark (`npm run bench`) judges whole requests, whose cost on this shared 2-core
 * machine moves by more than the session layer costs. This one calls, in one process, what a read
 * runs through: SessionGuard.canActivate on an ExecutionContext (the credential read from the
 * cookie, the session found, the UserSession built and attached), then what `@Session()` and the
 * commit step do on a request that changed nothing (look the session up, find nothing to save).
 * Beside it, the same loop with a no-op async guard: what any guard costs to call. Ours runs with
 * the near-cache (no Redis command on a repeat read) for each strategy, and for session-id without
 * it too (one script call to a private redis-server per read; Redis's own CPU is not counted, only
 * this process's).
 *
 * Each read gets a new request object of two kinds: a plain object with the headers, and one made
 * the way Express makes its requests (Node's IncomingMessage with the app's request prototype):
 * a property such an object lacks costs far more to look up or add, so the two can rank changes
 * differently. Batches of 32 reads, like the benchmark's connections; the variants alternate over
 * several rounds. Per read it prints the CPU (process.cpuUsage) and the heap bytes allocated, which
 * the garbage collector pays for later, in a busy server often more than the allocation itself.
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { ExpressAdapter } from '@nestjs/platform-express';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { getHeapStatistics } from 'node:v8';
import { SessionGuard, SessionModule, SessionService, type SessionStrategyName } from '../libs/session/src/index.js';
import { requestSession } from '../libs/session/src/request-session.js';
import { commitIfNoop } from '../libs/session/src/session-commit.js';
import { turnOrder } from './lib/alternating.js';
import { median } from './lib/paired-rounds.js';
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

/**
 * What a browser sends beside our cookie on a site with a consent banner and analytics (names and
 * value lengths as such tools set them; 10 cookies, about 400 bytes).
 */
const OTHER_COOKIES =
  '_ga=GA1.1.1234567890.1732780800; _ga_ABCDEF1234=GS1.1.1732780800.3.1.1732781000.0.0.0; _gid=GA1.2.987654321.1732780800; ' +
  '_fbp=fb.1.1732780800000.1234567890; cookie_consent=necessary%2Canalytics; theme=dark; lang=en-GB; ' +
  'ajs_anonymous_id=5f3c1a2b-7d4e-4f6a-9b8c-0d1e2f3a4b5c; _hjSessionUser_123456=eyJpZCI6IjEyMyJ9; recently_viewed=sku-1%2Csku-2';

async function oursVariant(name: string, url: string, cache: boolean, strategy: SessionStrategyName = 'session-id', otherCookies = false): Promise<Variant> {
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
    headers:
      strategy === 'jwt' ? { authorization: `Bearer ${token}` } : { cookie: otherCookies ? `${OTHER_COOKIES}; ${COOKIE}=${token}` : `${COOKIE}=${token}` },
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

/** How a request object is made: a plain object, or the way Express makes one. */
interface RequestKind {
  readonly name: string;
  make(headers: Record<string, string>): object;
}

const plainRequests: RequestKind = {
  name: 'plain object',
  make: (headers) => ({ headers, method: 'GET', url: '/me' }),
};

/**
 * Node's IncomingMessage, given the prototype Express gives each request of an app and the fields
 * its router adds. Reading a property missing on such an object (or adding one) costs far more
 * than on a plain object, so this is what the library meets in an Express app.
 */
function expressRequests(): RequestKind {
  const app = new ExpressAdapter().getInstance<{ request: object }>();
  const socket = new Socket();
  return {
    name: 'Express request',
    make(headers) {
      const request = new IncomingMessage(socket);
      request.rawHeaders = Object.entries(headers).flat();
      request.headers = { ...headers };
      request.method = 'GET';
      request.url = '/me';
      Object.setPrototypeOf(request, app.request);
      Object.assign(request, { next: () => undefined, baseUrl: '', originalUrl: '/me', params: {}, route: {}, body: undefined });
      return request;
    },
  };
}

/** One round of a variant, per read in its median batch. */
interface RoundCost {
  readonly cpuUs: number;
  /** Heap bytes the batch allocated, over its reads: what the collector will have to pay for. */
  readonly bytes: number;
}

type MinorGc = (options: { type: 'minor' }) => void;

/**
 * READS reads, IN_FLIGHT at a time. Each batch's requests are made before its clock starts (making
 * an Express request costs more than what is measured), and a minor collection runs then too, so
 * no collector pause lands inside a batch: without it, the garbage of the made requests moved an
 * Express round by 3x, whichever variant it fell on. What the read's own garbage will cost the
 * collector shows as the bytes it allocated instead. The median batch of the round counts.
 */
async function measure(variant: Variant, kind: RequestKind): Promise<RoundCost> {
  const gc = (globalThis as { gc?: MinorGc }).gc;
  if (!gc) throw new Error('bench/read-path needs node --expose-gc (npm run bench:read-path passes it)');
  const cpu: number[] = [];
  const bytes: number[] = [];
  for (let done = 0; done < READS; done += IN_FLIGHT) {
    const batch = Array.from({ length: IN_FLIGHT }, () => kind.make(variant.headers));
    gc({ type: 'minor' });
    const heapBefore = getHeapStatistics().used_heap_size;
    const before = process.cpuUsage();
    await Promise.all(batch.map((request) => variant.read(request)));
    const spent = process.cpuUsage(before);
    const heapAfter = getHeapStatistics().used_heap_size;
    cpu.push((spent.user + spent.system) / IN_FLIGHT);
    // A collection inside the batch after all (a Redis reply arriving late) makes this meaningless.
    if (heapAfter >= heapBefore) bytes.push((heapAfter - heapBefore) / IN_FLIGHT);
  }
  return { cpuUs: median(cpu), bytes: bytes.length > 0 ? median(bytes) : Number.NaN };
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const variants: Variant[] = [];
  try {
    variants.push(
      await baselineVariant(),
      await oursVariant('session-id, near-cache hit', server.url, true),
      await oursVariant('session-id, near-cache hit, 10 other cookies in the header', server.url, true, 'session-id', true),
      await oursVariant('session-id, 1 Redis round trip', server.url, false),
      await oursVariant('hashed, near-cache hit', server.url, true, 'hashed'),
      await oursVariant('jwt, near-cache hit', server.url, true, 'jwt'),
    );
    const kinds = [plainRequests, expressRequests()];
    // One turn per variant and kind of request, each keeping its rounds' costs.
    const turns = variants.map((variant) =>
      kinds.map((kind) => ({ variant, kind, name: `${kind.name}: ${variant.name}`, costs: [] as RoundCost[] })),
    );
    const everyTurn = turns.flat();
    // Warm-up: the JIT settles before anything counts.
    for (const turn of everyTurn) await measure(turn.variant, turn.kind);
    for (let round = 0; round < ROUNDS; round++) {
      for (const turn of turnOrder(everyTurn, round)) {
        const cost = await measure(turn.variant, turn.kind);
        turn.costs.push(cost);
        process.stdout.write(`round ${round + 1}: ${turn.name}: ${cost.cpuUs.toFixed(2)} µs CPU, ${cost.bytes.toFixed(0)} B allocated per read\n`);
      }
    }
    const best = (costs: readonly RoundCost[], figure: keyof RoundCost) => Math.min(...costs.map((cost) => cost[figure]));
    const cells = (row: number) =>
      turns[row].map((turn, k) => {
        const cpuUs = best(turn.costs, 'cpuUs');
        const above = cpuUs - best(turns[0][k].costs, 'cpuUs');
        return `${cpuUs.toFixed(2)} | ${above.toFixed(2)} | ${best(turn.costs, 'bytes').toFixed(0)}`;
      });
    const lines = [
      `${READS.toLocaleString('en-US')} reads per round in batches of ${IN_FLIGHT}, ${ROUNDS} alternating rounds after a warm-up; Node ${process.version}`,
      'Per read, in the median batch of the best round: CPU µs, CPU µs above the no-op guard on the same kind of request, heap bytes allocated',
      '',
      `| read | ${kinds.map((kind) => `${kind.name}: CPU µs | above | bytes`).join(' | ')} |`,
      `|---|${kinds.map(() => '--:|--:|--:').join('|')}|`,
      ...variants.map((variant, row) => `| ${variant.name} | ${cells(row).join(' | ')} |`),
      '',
      'Each round (CPU µs / bytes):',
      ...everyTurn.map((turn) => `- ${turn.name}: ${turn.costs.map((c) => `${c.cpuUs.toFixed(2)}/${c.bytes.toFixed(0)}`).join(', ')}`),
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
  } finally {
    for (const variant of variants) await variant.close();
    await server.stop();
  }
}

await main();
