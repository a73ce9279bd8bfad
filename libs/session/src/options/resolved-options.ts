import type { Type } from '@nestjs/common';
import type { SessionStrategy } from '../strategies/session-strategy.interface.js';
import type { DurabilitySettings, StoreSettings } from '../store/session-store.interface.js';
import { SESSION_DEFAULTS, defaultIdleSeconds } from './session-options.defaults.js';
import type {
  SessionCommitMode,
  SessionJwtAlgorithm,
  SessionJwtKey,
  SessionModuleOptions,
  SessionRedisOptions,
  SessionStrategyName,
} from './session-options.interface.js';
import { assertValidOptions } from './session-options.validation.js';
import { resolveOperations, type ResolvedCsrf, type ResolvedMetrics } from './resolve-operations.js';
import type { ExpiryTrackingSettings } from '../store/session-expiry.interface.js';

export interface ResolvedCookie {
  readonly name: string;
  readonly domain?: string;
  readonly path: string;
  readonly sameSite: 'lax' | 'strict' | 'none';
  readonly secure: boolean;
  /** Seconds, or null: the cookie lives until the session's absolute deadline. */
  readonly maxAge: number | null;
}

export interface ResolvedJwt {
  readonly keys: ReadonlyArray<Omit<SessionJwtKey, 'kid'> & { kid: string | null }>;
  readonly algorithms: SessionJwtAlgorithm[];
  readonly issuer?: string;
  readonly audience?: string;
  readonly expiresInSeconds: number;
  readonly transport: 'bearer' | 'cookie';
}

/** The options after validation and defaults: the only shape the rest of the library reads. */
export interface ResolvedSessionOptions extends StoreSettings {
  readonly store: 'redis' | 'memory';
  readonly redis: SessionRedisOptions | null;
  readonly strategies: ReadonlyArray<SessionStrategyName | Type<SessionStrategy>>;
  readonly absoluteMs: number;
  readonly cookie: ResolvedCookie | null;
  readonly header: string | null;
  readonly jwt: ResolvedJwt | null;
  readonly guard: 'global' | 'manual';
  /** How HTTP routes are saved: what `commit` ('auto' included) came to. */
  readonly commit: Exclude<SessionCommitMode, 'auto'>;
  /** `commit: 'auto'`: SessionCommitInterceptor is bound to the app's gateways and resolvers (HandlerCommitBinding). */
  readonly bindCommitToHandlers: boolean;
  /** The near-cache, or null when off. */
  readonly cache: { readonly maxEntries: number; readonly ttlMs: number } | null;
  /** The cross-origin (CSRF) check, or null when off. */
  readonly csrf: ResolvedCsrf | null;
  /** The expiry sweeper's settings, or null when `session.expired` events are off. */
  readonly expiryEvents: ExpiryTrackingSettings | null;
  /** OpenTelemetry metrics, or null when off. */
  readonly metrics: ResolvedMetrics | null;
  /** `WAIT` after logouts and revokes, and with `writes` after every write; null: off. */
  readonly durability: DurabilitySettings | null;
}

/** Validates the raw options (throwing one SessionConfigError with every problem) and applies defaults. */
export function resolveSessionOptions(options: SessionModuleOptions): ResolvedSessionOptions {
  assertValidOptions(options);
  const idleSeconds = options.ttl?.idle ?? defaultIdleSeconds(options.ttl?.absolute);
  const absoluteSeconds = options.ttl?.absolute ?? Math.max(SESSION_DEFAULTS.absoluteSeconds, idleSeconds);
  const touchAfterSeconds = options.touchAfter ?? Math.min(idleSeconds / 4, SESSION_DEFAULTS.touchAfterCapSeconds);
  const strategy = options.strategy ?? 'session-id';
  const strategies = Array.isArray(strategy) ? strategy : [strategy];
  const cookie = resolveCookie(options);
  // A custom strategy class may read cookies too: only a bearer-only jwt setup needs no CSRF check.
  const usesCookies = cookie !== null && strategies.some((s) => s !== 'jwt' || options.jwt?.transport === 'cookie');
  return {
    store: options.store ?? 'redis',
    redis: options.store === 'memory' ? null : (options.redis ?? null),
    strategies: Array.isArray(strategy) ? strategy : [strategy],
    idleMs: idleSeconds * 1000,
    absoluteMs: absoluteSeconds * 1000,
    touchAfterMs: Math.round(touchAfterSeconds * 1000),
    keyPrefix: options.keyPrefix ?? SESSION_DEFAULTS.keyPrefix,
    maxDataBytes: options.maxDataBytes ?? SESSION_DEFAULTS.maxDataBytes,
    maxSessionsPerUser: options.maxSessionsPerUser ?? null,
    cookie,
    header: options.header ?? null,
    jwt: resolveJwt(options, absoluteSeconds),
    guard: options.guard ?? 'manual',
    // 'auto': HTTP routes are saved from the response hook, which spares every request the rxjs
    // chain Nest runs once any global interceptor exists; gateways and resolvers, which have no
    // response to hook, get the interceptor bound to them alone.
    commit: options.commit === 'interceptor' ? 'interceptor' : 'on-send',
    bindCommitToHandlers: (options.commit ?? 'auto') === 'auto',
    cache: options.cache
      ? {
          maxEntries: options.cache.maxEntries ?? SESSION_DEFAULTS.cacheMaxEntries,
          ttlMs: options.cache.ttlMs ?? SESSION_DEFAULTS.cacheTtlMs,
        }
      : null,
    ...resolveOperations(options, usesCookies),
    durability: options.durability
      ? { replicas: options.durability.replicas, timeoutMs: options.durability.timeoutMs, writes: options.durability.writes === true }
      : null,
    batchWrites: options.batchWrites ?? true,
    rotationGraceMs: options.rotationGraceMs ?? SESSION_DEFAULTS.rotationGraceMs,
  };
}

function resolveCookie(options: SessionModuleOptions): ResolvedCookie | null {
  if (options.cookie === false) return null;
  const cookie = options.cookie ?? {};
  const secure = cookie.secure ?? true;
  // __Host- binds the cookie to this exact origin over HTTPS; browsers refuse it on plain http.
  const hostOnly = secure && !cookie.domain && (cookie.path ?? '/') === '/';
  const name = cookie.name ?? (hostOnly ? SESSION_DEFAULTS.secureCookieName : SESSION_DEFAULTS.cookieName);
  return {
    name,
    domain: cookie.domain,
    path: cookie.path ?? '/',
    sameSite: cookie.sameSite ?? 'lax',
    secure,
    maxAge: cookie.maxAge ?? null,
  };
}

function resolveJwt(options: SessionModuleOptions, absoluteSeconds: number): ResolvedJwt | null {
  const jwt = options.jwt;
  if (!jwt) return null;
  return {
    keys: jwt.keys ?? [{ kid: null, secret: jwt.secret }],
    algorithms: jwt.algorithms ?? [...SESSION_DEFAULTS.jwtAlgorithms],
    issuer: jwt.issuer,
    audience: jwt.audience,
    expiresInSeconds: jwt.expiresIn ?? absoluteSeconds,
    transport: jwt.transport ?? 'bearer',
  };
}

