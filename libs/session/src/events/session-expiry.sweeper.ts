import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import type { ResolvedSessionOptions } from '../options/resolved-options.js';
import { SESSION_REDIS } from '../session.constants.js';
import { SESSION_RESOLVED_OPTIONS } from '../session.internal-constants.js';
import { RedisDeadlineIndex } from '../store/redis-deadline.index.js';
import { isExpirySource, type SessionExpirySource } from '../store/session-expiry.interface.js';
import { SessionStore } from '../store/session-store.interface.js';
import { SessionLifecycle } from './session-lifecycle.js';

/** A failing sweep is logged at most this often. */
const LOG_EVERY_MS = 30_000;

/**
 * Finds expired sessions and reports them (`session.expired`, the `session.expirations` metric)
 * when `expiryEvents` is on: every `intervalSeconds`, in every app instance; the instances share
 * the work through the store (each expiry is reported once). Never uses keyspace notifications.
 */
@Injectable()
export class SessionExpirySweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('SessionExpirySweeper');
  private source: SessionExpirySource | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private lastLogged = 0;

  constructor(
    @Inject(SESSION_RESOLVED_OPTIONS) private readonly options: ResolvedSessionOptions,
    @Inject(SessionStore) private readonly store: SessionStore,
    @Inject(SESSION_REDIS) private readonly redis: Redis | Cluster | null,
    private readonly lifecycle: SessionLifecycle,
  ) {}

  onApplicationBootstrap(): void {
    const settings = this.options.expiryEvents;
    if (!settings) return;
    // On Redis the sweeper reads the deadline sets itself, whatever wraps the store.
    this.source = this.redis
      ? new RedisDeadlineIndex(this.redis, { ...this.options, expiryEvents: settings })
      : isExpirySource(this.store) ? this.store : null;
    if (!this.source) {
      this.logger.warn('expiryEvents is on but the session store cannot report expired sessions: no session.expired events');
      return;
    }
    this.timer = setInterval(() => void this.sweepNow(), settings.intervalMs);
    this.timer.unref();
  }

  /**
   * Runs one sweep now (the timer calls it too) and resolves with the number of sessions reported.
   * Concurrent calls share the sweep in progress. Zero when expiry events are off.
   */
  sweepNow(): Promise<number> {
    this.running ??= this.sweep().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // Let a sweep in flight finish before the module closes the Redis connection.
    await this.running;
    this.source = null;
  }

  private async sweep(): Promise<number> {
    const settings = this.options.expiryEvents;
    if (!this.source || !settings) return 0;
    try {
      const expired = await this.source.sweepExpired(settings.batchSize);
      for (const session of expired) this.lifecycle.expired(session, session.reason);
      return expired.length;
    } catch (error) {
      if (Date.now() - this.lastLogged > LOG_EVERY_MS) {
        this.lastLogged = Date.now();
        this.logger.warn(`Expiry sweep failed (retried next interval): ${(error as Error).message}`);
      }
      return 0;
    }
  }
}
