/**
 * E2E helper: boots the demo app (src/) in-process with @nestjs/testing against a private Redis
 * and drives it over real HTTP with supertest.
 *
 * Each suite passes its own env object (never process.env) with a unique SESSION_KEY_PREFIX, so
 * several apps can share one redis-server without seeing each other's keys.
 */
import { configureApp } from '../../src/configure-app.js';
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { ConsoleLogger, type INestApplication } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../../src/app.module.js';
import { createHttpAdapter } from '../../src/http-adapter.js';

export type StrategyName = 'session-id' | 'hashed' | 'jwt';
export const STRATEGIES: readonly StrategyName[] = ['session-id', 'hashed', 'jwt'];
export const COOKIE_STRATEGIES: readonly StrategyName[] = ['session-id', 'hashed'];

/** 48 ASCII characters: comfortably above the 32-byte minimum for HS256. */
export const JWT_SECRET = 'e2e-jwt-secret-0123456789abcdefghijklmnopqrstuv!';
export const DEMO_PASSWORD = 'demo-password';
export const DEMO_ISSUER = 'nestjs-redis-session-demo';
export const DEMO_AUDIENCE = 'demo';

/** ISO 8601 as produced by Date#toISOString. */
export const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export type DemoEnv = Record<string, string | undefined>;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A key prefix no other suite (or earlier run) uses; valid for the library (no braces, no spaces). */
export function uniquePrefix(label: string): string {
  return `e2e-${label}-${randomBytes(4).toString('hex')}:`;
}

/** A username (3-32 ASCII letters/digits) that is unique per call, so suites never share users. */
export function uniqueUser(label: string): string {
  return `${label.replace(/[^A-Za-z0-9]/g, '')}${randomBytes(4).toString('hex')}`.slice(0, 32);
}

/**
 * The env of one demo app under test; `redis` is a REDIS_URL or a suite's Redis (suite-redis.ts:
 * its REDIS_URL, REDIS_SENTINELS... or REDIS_CLUSTER_NODES). `extra` overrides or adds variables
 * (undefined removes one).
 */
export function demoEnv(redis: string | { readonly env: DemoEnv }, strategy: StrategyName, label: string, extra: DemoEnv = {}): DemoEnv {
  const env: DemoEnv = {
    // E2E_HTTP_ADAPTER=fastify runs every demo suite on Fastify (test/adapters.e2e-spec.ts runs both always).
    HTTP_ADAPTER: process.env.E2E_HTTP_ADAPTER,
    ...(typeof redis === 'string' ? { REDIS_URL: redis } : redis.env),
    COOKIE_SECURE: 'false',
    SESSION_KEY_PREFIX: uniquePrefix(`${label}-${strategy}`),
    JWT_SECRET,
    SESSION_STRATEGY: strategy,
    ...extra,
  };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return env;
}

/** The demo's request pipeline, shared with src/main.ts. */
export { configureApp };

/** Errors and warnings only: the InstanceLoader/RouterExplorer lines of every boot are noise here. */
const quietLogger = (): ConsoleLogger => new ConsoleLogger('e2e', { logLevels: ['error', 'warn'] });

/**
 * @nestjs/config copies the validated env into process.env (keys not set yet). Jest gives each test
 * file its own process.env, but several apps in one file would leak settings into each other
 * (ConfigService.get falls back to process.env), so the keys an app added are removed again.
 */
async function withoutProcessEnvLeaks<T>(body: () => Promise<T>): Promise<T> {
  const before = new Set(Object.keys(process.env));
  try {
    return await body();
  } finally {
    for (const key of Object.keys(process.env)) if (!before.has(key)) delete process.env[key];
  }
}

/** Compiles the demo's module graph with `env` (rejects when the app refuses to start). */
export function compileDemo(env: DemoEnv) {
  return withoutProcessEnvLeaks(() =>
    Test.createTestingModule({ imports: [AppModule.forRoot(env)] })
      .setLogger(quietLogger())
      .compile(),
  );
}

export interface DemoApp {
  readonly app: INestApplication;
  readonly http: Server;
  readonly env: DemoEnv;
  readonly strategy: StrategyName;
  readonly prefix: string;
  /** The cookie the demo should use: `sid` on plain http (COOKIE_SECURE=false), else `__Host-sid`. */
  readonly cookieName: string;
  /** A new HTTP client without a credential. */
  client(userAgent?: string): Client;
  close(): Promise<void>;
}

let clientCounter = 0;

/** Boots the demo app and makes it listen on a free loopback port (so parallel requests share it). */
export async function startDemoApp(env: DemoEnv): Promise<DemoApp> {
  const moduleRef = await compileDemo(env);
  // The demo's HTTP_ADAPTER, as src/main.ts reads it: express (default) or fastify.
  const app = moduleRef.createNestApplication(createHttpAdapter(env.HTTP_ADAPTER), { logger: quietLogger() });
  const strategy = (env.SESSION_STRATEGY ?? 'session-id') as StrategyName;
  return listenDemo(app, env, strategy, 'e2e-client');
}

/** Configures, starts and listens on a free loopback port; shared with the topology helper. */
export async function listenDemo(app: INestApplication, env: DemoEnv, strategy: StrategyName, clientLabel: string): Promise<DemoApp> {
  configureApp(app);
  await app.init();
  await app.listen(0, '127.0.0.1');
  const http = app.getHttpServer() as Server;
  const demo: DemoApp = {
    app,
    http,
    env,
    strategy,
    prefix: env.SESSION_KEY_PREFIX ?? 'sess:',
    cookieName: env.COOKIE_SECURE === 'false' ? 'sid' : '__Host-sid',
    client: (userAgent = `${clientLabel}-${++clientCounter}`) => new Client(demo, userAgent),
    close: async () => {
      await app.close();
    },
  };
  return demo;
}

// ---------------------------------------------------------------------------------------------
// Set-Cookie parsing
// ---------------------------------------------------------------------------------------------

export interface SetCookie {
  readonly raw: string;
  readonly name: string;
  readonly value: string;
  /** Lower-cased attribute name -> value (`true` for flags such as HttpOnly). */
  readonly attributes: ReadonlyMap<string, string | true>;
}

export function parseSetCookie(raw: string): SetCookie {
  const [pair, ...parts] = raw.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string | true>();
  for (const part of parts) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    const i = trimmed.indexOf('=');
    if (i < 0) attributes.set(trimmed.toLowerCase(), true);
    else attributes.set(trimmed.slice(0, i).trim().toLowerCase(), trimmed.slice(i + 1).trim());
  }
  return { raw, name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

export function setCookies(res: request.Response): SetCookie[] {
  const header = res.headers['set-cookie'] as string[] | string | undefined;
  const list = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return list.map(parseSetCookie);
}

/** The Set-Cookie headers of a response for one cookie name. */
export const cookiesNamed = (res: request.Response, name: string): SetCookie[] =>
  setCookies(res).filter((c) => c.name === name);

/** True when the cookie tells the browser to forget it. */
export const isClearing = (cookie: SetCookie): boolean => cookie.attributes.get('max-age') === '0';

// ---------------------------------------------------------------------------------------------
// HTTP client with a credential
// ---------------------------------------------------------------------------------------------

type Method = 'get' | 'post' | 'put' | 'delete';

/**
 * One user agent talking to the demo. It keeps its credential like a browser (cookie strategies:
 * the Set-Cookie of every response) or an API client (jwt: the token of the login body, dropped on
 * a 204 logout). `as(credential)` gives a second client that replays a given credential.
 */
export class Client {
  credential: string | undefined;

  constructor(
    readonly demo: DemoApp,
    readonly userAgent: string,
    credential?: string,
  ) {
    this.credential = credential;
  }

  /** Another client presenting `credential` (e.g. an old cookie after rotation); it tracks nothing back here. */
  as(credential: string | undefined, userAgent = this.userAgent): Client {
    return new Client(this.demo, userAgent, credential);
  }

  get(path: string) {
    return this.send('get', path);
  }

  delete(path: string) {
    return this.send('delete', path);
  }

  put(path: string, body?: unknown) {
    return this.send('put', path, body);
  }

  post(path: string, body?: unknown) {
    return this.send('post', path, body);
  }

  /** Sends the request with this client's credential and User-Agent, then tracks the credential. */
  async send(method: Method, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<request.Response> {
    let req = request(this.demo.http)[method](path).set('User-Agent', this.userAgent);
    for (const [name, value] of Object.entries(credentialHeaders(this.demo, this.credential))) req = req.set(name, value);
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    const res = body === undefined ? await req : await req.send(body as object);
    this.track(path, res);
    return res;
  }

  /** Logs in and fails with the response when the demo does not answer 200 with a credential. */
  async login(username: string, password = DEMO_PASSWORD): Promise<request.Response> {
    const res = await this.post('/auth/login', { username, password });
    if (res.status !== 200 || !this.credential) {
      throw new Error(
        `login as ${username} (${this.demo.strategy}) did not issue a credential ` +
          `(expected ${this.demo.strategy === 'jwt' ? 'a token in the body' : `a Set-Cookie named ${this.demo.cookieName}`}): ${res.status} ` +
          `${JSON.stringify(res.body)} set-cookie=${JSON.stringify(res.headers['set-cookie'] ?? null)}`,
      );
    }
    return res;
  }

  private track(path: string, res: request.Response): void {
    if (this.demo.strategy === 'jwt') {
      if (path === '/auth/login' && res.status === 200 && typeof res.body?.token === 'string') this.credential = res.body.token;
      if (path === '/auth/logout' && res.status === 204) this.credential = undefined;
      return;
    }
    const ours = cookiesNamed(res, this.demo.cookieName);
    const last = ours[ours.length - 1];
    if (last) this.credential = isClearing(last) || last.value === '' ? undefined : last.value;
  }
}

/** The request headers that present `credential` under the app's strategy. */
export function credentialHeaders(demo: DemoApp, credential: string | undefined): Record<string, string> {
  if (credential === undefined) return {};
  return demo.strategy === 'jwt' ? { Authorization: `Bearer ${credential}` } : { Cookie: `${demo.cookieName}=${credential}` };
}

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

export const sha256Base64Url = (value: string): string => createHash('sha256').update(value, 'utf8').digest('base64url');

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** Decodes (does not verify) a compact JWS. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  const part = (text: string | undefined) => {
    try {
      const value: unknown = JSON.parse(Buffer.from(text ?? '', 'base64url').toString('utf8'));
      if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
    } catch {
      // reported below
    }
    throw new Error(`not a JWT (header.payload.signature of base64url JSON): ${JSON.stringify(token.slice(0, 40))}`);
  };
  if (parts.length !== 3) part(undefined);
  return { header: part(parts[0]), payload: part(parts[1]) };
}

/** Signs a token the way a forger (or the demo) would: HS256 with the given secret and claims. */
export function signJwt(
  claims: Record<string, unknown>,
  options: { secret?: string; expiresInSeconds?: number; noTimestamp?: boolean } = {},
): string {
  return new JwtService().sign(claims, {
    secret: options.secret ?? JWT_SECRET,
    algorithm: 'HS256',
    ...(options.expiresInSeconds !== undefined ? { expiresIn: options.expiresInSeconds } : {}),
    ...(options.noTimestamp ? { noTimestamp: true } : {}),
  });
}

/** An unsigned token (`alg: none`) with the given claims. */
export function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** Every string under which a credential could leak: the credential itself and what derives from it. */
export function credentialForms(strategy: StrategyName, credential: string): string[] {
  if (strategy === 'hashed') return [credential, sha256Base64Url(credential)];
  if (strategy === 'jwt') return [credential, String(decodeJwt(credential).payload.sid)];
  return [credential];
}

/** The Redis key of the session a credential names (what the store is keyed by). */
export function sessionKeyOf(demo: DemoApp, credential: string): string {
  const storeId =
    demo.strategy === 'hashed' ? sha256Base64Url(credential) : demo.strategy === 'jwt' ? String(decodeJwt(credential).payload.sid) : credential;
  return `${demo.prefix}{${storeId}}`;
}
