/**
 * Hostile-input suite: the invariants every case checks, and the demo apps it attacks.
 *
 * `world.observe(expectation, action)` wraps one hostile request (or a few) and asserts, besides what
 * the case itself checks (status and body):
 *  - no Redis key outside the expected ones appeared, disappeared or changed (full keyspace
 *    snapshot before and after, with `allKeysAndValues`);
 *  - every key in Redis still has a TTL;
 *  - `Object.prototype` (of the test realm, where the app runs, and of Node's main realm) is exactly
 *    as it was when the file started;
 *  - the process saw no unhandled rejection;
 *  - optionally, that Redis executed no command at all (`redis: 'none'`, for credentials that fail
 *    their shape check) or no write (`redis: 'no-writes'`), from `INFO commandstats` deltas read on
 *    the separate admin connection (its own INFO calls are excluded by `readCounters`; the
 *    snapshots are taken outside the measured window).
 *
 * One private redis-server per test file; every app has its own key prefix on it.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import vm from 'node:vm';
import { expect } from '@jest/globals';
import { ConsoleLogger, type INestApplication, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { AppModule } from '../../src/app.module.js';
import { SessionModule, type SessionModuleOptions } from '@app/session';
import { Client, configureApp, demoEnv, type DemoApp, type DemoEnv, type StrategyName } from '../support/demo-app.js';
import { activityBetween, readCounters, type RedisActivity } from '../support/redis-probe.js';
import { allKeysAndValues, redisClientFor, startRedisServer, type RedisEntry, type RedisServerHandle } from '../support/redis-server.js';

export const REJECTED = { statusCode: 401, message: 'Invalid or expired session credential', error: 'Unauthorized' } as const;
export const NO_CREDENTIAL = { statusCode: 401, message: 'Authentication required: no session credential', error: 'Unauthorized' } as const;
export const SESSION_ENDED = {
  statusCode: 401,
  message: 'The session ended while this request was running; its changes were not saved',
  error: 'Unauthorized',
} as const;

export const REPLACED = {
  statusCode: 409,
  message: 'This session was replaced moments ago (a sign-in or regenerate()): it can be read but not changed; retry with the new credential',
  error: 'Conflict',
} as const;

/** What a hostile request may do to Redis. */
export interface Expectation {
  /** Keys allowed to appear, disappear or change (exact names or patterns). Default: none. */
  changes?: ReadonlyArray<string | RegExp>;
  /** 'none': Redis executes no command at all; 'no-writes': reads only; 'any' (default). */
  redis?: 'none' | 'no-writes' | 'any';
}

export interface Observation<T> {
  result: T;
  /** Keys that appeared, disappeared or changed. */
  changed: string[];
  before: Map<string, RedisEntry>;
  after: Map<string, RedisEntry>;
  activity: RedisActivity;
}

// ---------------------------------------------------------------------------------------------
// Process-wide invariants
// ---------------------------------------------------------------------------------------------

/** Node's real `process` (Jest gives each test file a copy whose events differ). */
const realProcess = (): NodeJS.Process => {
  const candidate: unknown = vm.runInThisContext('typeof process === "object" ? process : undefined');
  return typeof candidate === 'object' && candidate !== null && 'on' in candidate ? (candidate as NodeJS.Process) : process;
};
const mainRealmObjectPrototype = (): object => vm.runInThisContext('Object.prototype') as object;

const ownKeys = (target: object): string[] => Reflect.ownKeys(target).map(String).sort();

/** Property names an attacker's payload tries to plant on prototypes; none may ever appear. */
export const CANARIES = ['polluted', 'isAdmin', 'admin', 'userId', 'sub', 'role', 'toJSON'] as const;

export class ProcessGuard {
  readonly rejections: unknown[] = [];
  private readonly baseline = { test: ownKeys(Object.prototype), main: ownKeys(mainRealmObjectPrototype()) };
  private readonly listener = (reason: unknown): void => {
    this.rejections.push(reason);
  };

  install(): void {
    realProcess().on('unhandledRejection', this.listener);
  }

  uninstall(): void {
    realProcess().removeListener('unhandledRejection', this.listener);
  }

  assertClean(): void {
    expect(ownKeys(Object.prototype)).toEqual(this.baseline.test);
    expect(ownKeys(mainRealmObjectPrototype())).toEqual(this.baseline.main);
    const probe = {} as Record<string, unknown>;
    const mainProbe = vm.runInThisContext('({})') as Record<string, unknown>;
    for (const name of CANARIES) {
      if (name === 'toJSON') continue; // checked via ownKeys above (it would be an own key of the prototype)
      expect(probe[name]).toBeUndefined();
      expect(mainProbe[name]).toBeUndefined();
    }
    expect(this.rejections.map(String)).toEqual([]);
  }
}

// ---------------------------------------------------------------------------------------------
// The world: one redis-server, an admin connection, demo apps
// ---------------------------------------------------------------------------------------------

const quietLogger = (): ConsoleLogger => new ConsoleLogger('hostile', { logLevels: ['error'] });

/** @nestjs/config copies the validated env into process.env: remove what a boot added. */
async function withoutProcessEnvLeaks<T>(body: () => Promise<T>): Promise<T> {
  const before = new Set(Object.keys(process.env));
  try {
    return await body();
  } finally {
    for (const key of Object.keys(process.env)) if (!before.has(key)) delete process.env[key];
  }
}

export interface BootOptions {
  /** Extra env variables (undefined removes one). */
  env?: DemoEnv;
  /** Extra controllers mounted next to the demo's (they get the demo's global guard and interceptor). */
  controllers?: Array<Type<unknown>>;
  /** Label for the key prefix. */
  label?: string;
}

export class World {
  server!: RedisServerHandle;
  admin!: Redis;
  readonly guard = new ProcessGuard();
  private readonly apps: DemoApp[] = [];

  async start(): Promise<void> {
    this.guard.install();
    this.server = await startRedisServer();
    this.admin = await redisClientFor(this.server);
  }

  async stop(): Promise<void> {
    for (const app of this.apps.splice(0)) await app.close();
    if (this.admin) {
      const ended = new Promise<void>((resolve) => this.admin.once('end', () => resolve()));
      this.admin.disconnect();
      await ended;
    }
    await this.server?.stop();
    this.guard.uninstall();
  }

  /** Boots the demo app (src/AppModule, configureApp) for `strategy`, plus optional fixture controllers. */
  async boot(strategy: StrategyName | string, options: BootOptions = {}): Promise<DemoApp> {
    const env = demoEnv(this.server.url, strategy as StrategyName, options.label ?? 'hostile', options.env ?? {});
    const moduleRef = await withoutProcessEnvLeaks(() =>
      Test.createTestingModule({ imports: [AppModule.forRoot(env)], controllers: options.controllers ?? [] })
        .setLogger(quietLogger())
        .compile(),
    );
    const app: INestApplication = moduleRef.createNestApplication({ logger: quietLogger() });
    configureApp(app);
    await app.init();
    await app.listen(0, '127.0.0.1');
    const http = app.getHttpServer() as Server;
    const first = strategy.split(',')[0] as StrategyName;
    const demo: DemoApp = {
      app,
      http,
      env,
      strategy: first,
      prefix: env.SESSION_KEY_PREFIX ?? 'sess:',
      cookieName: env.COOKIE_SECURE === 'false' ? 'sid' : '__Host-sid',
      client: (userAgent = `hostile-${randomBytes(3).toString('hex')}`) => new Client(demo, userAgent),
      close: async () => {
        await app.close();
      },
    };
    this.apps.push(demo);
    return demo;
  }

  /**
   * Boots a small fixture app on the library itself (SessionModule.forRoot on this Redis, with a
   * unique key prefix and the guard global), for what the demo cannot show.
   */
  async bootLibrary(options: Omit<SessionModuleOptions, 'redis' | 'keyPrefix'> & { keyPrefix?: string }, controllers: Array<Type<unknown>>): Promise<DemoApp> {
    const prefix = options.keyPrefix ?? `hostile-fx-${randomBytes(4).toString('hex')}:`;
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ redis: { url: this.server.url }, guard: 'global', ...options, keyPrefix: prefix })],
      controllers,
    })
      .setLogger(quietLogger())
      .compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger: quietLogger() });
    await app.init();
    await app.listen(0, '127.0.0.1');
    const strategies = [options.strategy ?? 'session-id'].flat();
    const cookie = options.cookie === false ? undefined : options.cookie;
    const demo: DemoApp = {
      app,
      http: app.getHttpServer() as Server,
      env: {},
      strategy: (typeof strategies[0] === 'string' ? strategies[0] : 'session-id') as StrategyName,
      prefix,
      cookieName: cookie?.name ?? (cookie?.secure === false || cookie?.domain ? 'sid' : '__Host-sid'),
      client: (userAgent = `hostile-${randomBytes(3).toString('hex')}`) => new Client(demo, userAgent),
      close: async () => {
        await app.close();
      },
    };
    this.apps.push(demo);
    return demo;
  }

  async snapshot(): Promise<Map<string, RedisEntry>> {
    return new Map((await allKeysAndValues(this.admin)).map((e) => [e.key, e]));
  }

  /** Every key has an expiry (PTTL -1 means none). */
  expectEveryKeyToExpire(entries: Map<string, RedisEntry>): void {
    const immortal = [...entries.values()].filter((e) => e.ttlMs === -1).map((e) => e.key);
    expect(immortal).toEqual([]);
  }

  /** After every case (afterEach): every key still expires, prototypes are clean, no unhandled rejection. */
  async checkInvariants(): Promise<void> {
    this.expectEveryKeyToExpire(await this.snapshot());
    this.guard.assertClean();
  }

  /** Runs `action` and asserts the invariants described at the top of this file. */
  async observe<T>(expectation: Expectation, action: () => Promise<T>): Promise<Observation<T>> {
    const before = await this.snapshot();
    const countersBefore = await readCounters(this.admin);
    const result = await action();
    const countersAfter = await readCounters(this.admin);
    const after = await this.snapshot();
    const activity = activityBetween(countersBefore, countersAfter);

    // A retired session (kept read-only for a rotation grace) that an earlier case left behind ends
    // by itself, in any case that happens to be running then.
    const changed = diffKeys(before, after).filter((key) => !graceEnded(before.get(key), after.get(key)));
    const allowed = expectation.changes ?? [];
    const unexpected = changed.filter((key) => !allowed.some((a) => (typeof a === 'string' ? a === key : a.test(key))));
    const shown = unexpected.map((key) => ({ key, before: before.get(key)?.dump, after: after.get(key)?.dump }));
    expect({ unexpectedChanges: shown }).toEqual({ unexpectedChanges: [] });
    this.expectEveryKeyToExpire(after);
    this.guard.assertClean();
    if (expectation.redis === 'none') expect({ redisCommands: activity.commands }).toEqual({ redisCommands: {} });
    if (expectation.redis === 'no-writes') expect({ redisWrites: activity.writes }).toEqual({ redisWrites: 0 });
    return { result, changed, before, after, activity };
  }
}

/** The key was a retired session (`m:r`, see the rotation grace) whose grace is over, and is gone. */
function graceEnded(before: RedisEntry | undefined, after: RedisEntry | undefined): boolean {
  const graceEnd = before && !after ? /(?:^| )m:r (\d+)(?: |$)/.exec(before.dump)?.[1] : undefined;
  return graceEnd !== undefined && Number(graceEnd) <= Date.now();
}

export function diffKeys(before: Map<string, RedisEntry>, after: Map<string, RedisEntry>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys]
    .filter((key) => {
      const a = before.get(key);
      const b = after.get(key);
      return !a || !b || a.type !== b.type || a.dump !== b.dump;
    })
    .sort();
}

// ---------------------------------------------------------------------------------------------
// Raw requests with hand-made credentials
// ---------------------------------------------------------------------------------------------

export interface RawRequest {
  method?: 'get' | 'post' | 'put' | 'delete';
  path?: string;
  /** Cookie header value(s); an array sends the header several times. */
  cookie?: string | string[];
  /** Authorization header value(s); an array sends the header several times. */
  authorization?: string | string[];
  headers?: Record<string, string | string[]>;
  body?: unknown;
}

export async function send(demo: DemoApp, raw: RawRequest): Promise<request.Response> {
  let req = request(demo.http)[raw.method ?? 'get'](raw.path ?? '/me').set('User-Agent', 'hostile-suite');
  if (raw.cookie !== undefined) req = req.set('Cookie', raw.cookie as string);
  if (raw.authorization !== undefined) req = req.set('Authorization', raw.authorization as string);
  for (const [name, value] of Object.entries(raw.headers ?? {})) req = req.set(name, value as string);
  return raw.body === undefined ? await req : await req.send(raw.body as object);
}

/** The body and the Set-Cookie lines of a response, without per-response values (dates, etags). */
export function answer(res: request.Response): { status: number; body: unknown; setCookie: string[] } {
  const header = res.headers['set-cookie'] as string[] | string | undefined;
  const setCookie = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return { status: res.status, body: res.body, setCookie };
}

/** The Redis key of a user's index. */
export const userIndexKeyOf = (demo: DemoApp, userId: string): string => `${demo.prefix}user:{${userId}}`;

/** Matches every session key of an app (not its user indexes). */
export const sessionKeysOf = (demo: DemoApp): RegExp => new RegExp(`^${escapeRegExp(demo.prefix)}\\{[A-Za-z0-9_-]+\\}$`);

export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A random string of base64url characters of the given length. */
export const base64url = (length: number): string => randomBytes(length).toString('base64url').slice(0, length);

/**
 * Sends a hand-written HTTP/1.1 request (no client-side header validation) and returns the status
 * and the raw response head. `headerLines` are sent as they are, joined by CRLF.
 */
export async function rawHttp(demo: DemoApp, requestLine: string, headerLines: string[]): Promise<{ status: number; head: string }> {
  const { port } = demo.http.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to a raw request within 3 s: ${JSON.stringify(data)}`));
    }, 3000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const head = data.split('\r\n\r\n')[0];
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? NaN), head });
    });
    socket.write(`${requestLine}\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headerLines.map((l) => `${l}\r\n`).join('')}\r\n`, 'latin1');
  });
}
