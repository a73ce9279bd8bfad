import type { Provider, Type } from '@nestjs/common';
import { APP_GUARD, ModuleRef } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { resolveSessionOptions, type ResolvedSessionOptions } from './options/resolved-options.js';
import type { SessionModuleOptions, SessionStrategyName } from './options/session-options.interface.js';
import { createRedisConnection, type RedisConnection } from './redis/redis-client.factory.js';
import { SESSION_REDIS } from './session.constants.js';
import { SESSION_REDIS_CONNECTION, SESSION_RESOLVED_OPTIONS } from './session.internal-constants.js';
import { SESSION_MODULE_OPTIONS } from './session.module-definition.js';
import { GlobalSessionGuard } from './global-session.guard.js';
import { CachedSessionStore } from './cache/cached-session.store.js';
import { CACHE_ON_CLUSTER } from './options/session-options.validation.js';
import { DURABLE_WRITES_ON_CLUSTER } from './options/session-options.rules.js';
import { SessionConfigError } from './session.errors.js';
import { observeSessionEndings } from './revocation/observed-session.store.js';
import { SessionEndedBus } from './revocation/session-ended.bus.js';
import { MemorySessionStore } from './store/memory-session.store.js';
import { instrumentStore } from './metrics/instrumented-store.js';
import { SessionMetrics } from './metrics/session.metrics.js';
import { RedisSessionStore } from './store/redis-session.store.js';
import { SessionStore } from './store/session-store.interface.js';
import { HashedTokenStrategy } from './strategies/hashed.strategy.js';
import { JwtSessionStrategy } from './strategies/jwt.strategy.js';
import { SessionIdStrategy } from './strategies/session-id.strategy.js';
import { SessionStrategy } from './strategies/session-strategy.interface.js';
import { withCheckedStoreIds } from './strategies/checked-store-ids.js';

const BUILT_IN_STRATEGIES = {
  'session-id': SessionIdStrategy,
  jwt: JwtSessionStrategy,
  hashed: HashedTokenStrategy,
} satisfies Record<SessionStrategyName, new (options: ResolvedSessionOptions) => SessionStrategy>;

/**
 * The Redis store, behind the near-cache when `cache` is set. Neither the cache nor durable writes
 * run on Cluster (see CACHE_ON_CLUSTER, DURABLE_WRITES_ON_CLUSTER); checked here as well because a
 * `{ client }` the app passed in may be a Cluster, which validation could not see.
 */
function redisStore(options: ResolvedSessionOptions, connection: RedisConnection): SessionStore {
  const cluster = connection.client.isCluster;
  if (cluster && options.durability?.writes) throw new SessionConfigError([DURABLE_WRITES_ON_CLUSTER]);
  if (cluster && options.cache) throw new SessionConfigError([CACHE_ON_CLUSTER]);
  const store = new RedisSessionStore(connection.client, options);
  return options.cache ? new CachedSessionStore(store, connection.client as Redis, options, options.cache) : store;
}

/** Every provider derives from the one options token, so forRoot and forRootAsync share them. */
export const SESSION_PROVIDERS: Provider[] = [
  {
    provide: SESSION_RESOLVED_OPTIONS,
    useFactory: (options: SessionModuleOptions) => resolveSessionOptions(options),
    inject: [SESSION_MODULE_OPTIONS],
  },
  {
    provide: SESSION_REDIS_CONNECTION,
    useFactory: (options: ResolvedSessionOptions): RedisConnection | null =>
      options.redis ? createRedisConnection(options.redis) : null,
    inject: [SESSION_RESOLVED_OPTIONS],
  },
  {
    provide: SESSION_REDIS,
    useFactory: (connection: RedisConnection | null) => connection?.client ?? null,
    inject: [SESSION_REDIS_CONNECTION],
  },
  {
    provide: SessionStore,
    // Observed, so that every ended session closes its sockets on every instance (revocation/).
    useFactory: (options: ResolvedSessionOptions, connection: RedisConnection | null, ended: SessionEndedBus, metrics: SessionMetrics): SessionStore =>
      instrumentStore(observeSessionEndings(connection ? redisStore(options, connection) : new MemorySessionStore(options), ended), metrics),
    inject: [SESSION_RESOLVED_OPTIONS, SESSION_REDIS_CONNECTION, SessionEndedBus, SessionMetrics],
  },
  {
    provide: SessionMetrics,
    useFactory: (options: ResolvedSessionOptions) => new SessionMetrics(options.metrics),
    inject: [SESSION_RESOLVED_OPTIONS],
  },
  {
    provide: SessionStrategy,
    useFactory: (options: ResolvedSessionOptions, moduleRef: ModuleRef): Promise<SessionStrategy[]> =>
      Promise.all(
        options.strategies.map((entry) =>
          typeof entry === 'string'
            ? new BUILT_IN_STRATEGIES[entry](options)
            : moduleRef.create(entry as Type<SessionStrategy>).then(withCheckedStoreIds),
        ),
      ),
    inject: [SESSION_RESOLVED_OPTIONS, ModuleRef],
  },
  { provide: APP_GUARD, useClass: GlobalSessionGuard },
];
