import { Inject, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { RedisConnection } from './redis/redis-client.factory.js';
import { SESSION_REDIS } from './session.constants.js';
import { SESSION_REDIS_CONNECTION, SESSION_RESOLVED_OPTIONS } from './session.internal-constants.js';
import { SessionConfigurableModule, type SessionModuleAsyncOptions } from './session.module-definition.js';
import { SessionConfigError } from './session.errors.js';
import { KNOWN_OPTIONS } from './options/session-options.rules.js';
import { SESSION_PROVIDERS } from './session.providers.js';
import { SessionGuard } from './session.guard.js';
import { COMMIT_PROVIDERS } from './session-commit-mode.js';
import { HandlerCommitBinding } from './handler-commit-binding.js';
import { SessionLoader } from './session-loader.js';
import { SessionService } from './session.service.js';
import { SessionEndedBus } from './revocation/session-ended.bus.js';
import { SessionSockets } from './ws/session-sockets.service.js';
import { CachedSessionStore } from './cache/cached-session.store.js';
import { MemorySessionStore } from './store/memory-session.store.js';
import { SessionStore } from './store/session-store.interface.js';
import { SessionStrategy } from './strategies/session-strategy.interface.js';
import { SessionLifecycle } from './events/session-lifecycle.js';
import { SessionExpirySweeper } from './events/session-expiry.sweeper.js';
import { SessionHealthIndicator } from './health/session.health-indicator.js';

/**
 * Distributed sessions in Redis: `SessionModule.forRoot({ redis: { url }, strategy: 'session-id' })`
 * or `forRootAsync({ imports, inject, useFactory })`.
 */
@Module({
  providers: [
    ...SESSION_PROVIDERS,
    SessionLoader,
    SessionGuard,
    ...COMMIT_PROVIDERS,
    SessionService,
    SessionEndedBus,
    SessionSockets,
    SessionLifecycle,
    SessionExpirySweeper,
    SessionHealthIndicator,
  ],
  exports: [
    SessionService,
    SessionGuard,
    // SessionGuard's own dependency, for @UseGuards(SessionGuard) in the app's modules.
    HandlerCommitBinding,
    SessionLoader,
    SessionStore,
    SessionStrategy,
    SESSION_REDIS,
    SESSION_RESOLVED_OPTIONS,
    SessionEndedBus,
    SessionSockets,
    SessionExpirySweeper,
    SessionHealthIndicator,
  ],
})
export class SessionModule extends SessionConfigurableModule implements OnApplicationShutdown {
  private readonly logger = new Logger('SessionModule');

  constructor(
    @Inject(SESSION_REDIS_CONNECTION) private readonly connection: RedisConnection | null,
    @Inject(SessionStore) private readonly store: SessionStore,
  ) {
    super();
  }

  /**
   * Nest ignores unknown keys beside `useFactory`, so a session option put there (`commit`, `ttl`...)
   * would silently not apply: refused, naming where it goes.
   */
  static override forRootAsync(options: SessionModuleAsyncOptions): DynamicModule {
    const misplaced = typeof options === 'object' && options !== null ? Object.keys(options).filter((key) => KNOWN_OPTIONS.has(key)) : [];
    if (misplaced.length > 0) {
      throw new SessionConfigError(
        misplaced.map((key) => `${key} is a session option: return it from the factory with the others (forRootAsync({ useFactory: () => ({ ..., ${key} }) }))`),
      );
    }
    return super.forRootAsync(options);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.store instanceof MemorySessionStore) this.store.close();
    if (this.store instanceof CachedSessionStore) await this.store.close();
    // Close only what we created: an app-provided client belongs to the app.
    if (!this.connection?.owned) return;
    try {
      await this.connection.client.quit();
    } catch (error) {
      this.logger.warn(`Closing the Redis connection failed: ${(error as Error).message}`);
      this.connection.client.disconnect();
    }
  }
}
