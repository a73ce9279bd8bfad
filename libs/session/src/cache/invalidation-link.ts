import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomToken } from '../crypto.util.js';

/** The Pub/Sub channel Redis publishes tracking invalidations on (RESP2 redirect mode). */
export const INVALIDATION_CHANNEL = '__redis__:invalidate';

/** Heartbeat on the subscriber: a link that silently stopped answering is declared down. */
const HEARTBEAT_MS = 1000;
/** Retry delay after enabling tracking failed while both connections stayed up. */
const RETRY_MS = 1000;

export interface InvalidationListener {
  /** Redis reported these keys changed (or, with null, that the database was flushed). */
  invalidated(keys: string[] | null): void;
  /** True once tracking redirects to a live subscriber; false as soon as either side is lost. */
  linkChanged(up: boolean): void;
}

/**
 * Server-assisted client-side caching (`CLIENT TRACKING`) for one standalone or Sentinel Redis.
 *
 * A second connection (RESP2: ioredis drops RESP3 push frames) subscribes to `__redis__:invalidate`;
 * the main connection turns tracking on in broadcast mode for the session-key prefix, redirecting to
 * that subscriber.
 *
 * No NOLOOP: this process's own writes come back as invalidations too. NOLOOP would not suppress
 * them anyway (every session write is a Lua script, and in BCAST mode Redis attributes a script's
 * writes to the script client, not the caller: measured on 7.0), and where it does apply, BCAST
 * remembers only the last writer of a key per event-loop batch, so another server's change in the
 * same batch as ours would never be reported. An own write costs one extra cache miss; never a
 * stale read.
 *
 * Tracking belongs to a connection, and the redirect names the subscriber's client id, so whenever
 * either connection drops, the link is down (the cache is flushed and bypassed) until both are back
 * and tracking has been re-enabled with the subscriber's new id.
 */
export class InvalidationLink {
  private readonly logger = new Logger('SessionCache');
  private readonly subscriber: Redis;
  /** Unique, so the main connection can check the redirect target really is our subscriber. */
  private readonly name = `nestjs-redis-session:invalidation:${randomToken(6)}`;
  private subscriberId: number | null = null;
  private attempt = 0;
  private up = false;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly onMainReady = (): void => void this.establish();
  private readonly onMainLost = (): void => this.lost('main connection lost');

  constructor(
    private readonly main: Redis,
    private readonly prefix: string,
    private readonly listener: InvalidationListener,
  ) {
    this.subscriber = main.duplicate({
      // An app's client made with lazyConnect would hand that on, and a lazy subscriber would wait
      // for a first command that never comes (it subscribes once it is ready): the link never came up.
      lazyConnect: false,
      protocol: 2,
      autoResubscribe: false,
      enableOfflineQueue: false,
      enableAutoPipelining: false,
      connectionName: this.name,
    });
    // 'close' follows every connection error; the listener only keeps ioredis from logging it.
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('close', () => this.lost('invalidation connection lost'));
    this.subscriber.on('ready', () => void this.subscribe());
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer[] | Buffer | null) => {
      if (channel.toString() !== INVALIDATION_CHANNEL) return;
      // null: FLUSHALL/FLUSHDB, or Redis dropped its tracking table. Anything unexpected: flush too.
      this.listener.invalidated(Array.isArray(message) ? message.map(String) : null);
    });
    main.on('ready', this.onMainReady);
    main.on('close', this.onMainLost);
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS).unref();
  }

  get isUp(): boolean {
    return this.up;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.retry);
    this.main.off('ready', this.onMainReady);
    this.main.off('close', this.onMainLost);
    this.setUp(false);
    if (this.main.status === 'ready') {
      // The main connection may be the app's own client: leave it as we found it.
      await this.main.call('CLIENT', 'TRACKING', 'off').catch(() => undefined);
    }
    this.subscriber.disconnect();
  }

  private async subscribe(): Promise<void> {
    try {
      const id = Number(await this.subscriber.call('CLIENT', 'ID'));
      await this.subscriber.subscribe(INVALIDATION_CHANNEL);
      this.subscriberId = id;
      await this.establish();
    } catch (error) {
      this.lost(`subscribing failed: ${(error as Error).message}`);
    }
  }

  /** (Re-)enables tracking on the main connection, redirected to the current subscriber. */
  private async establish(): Promise<void> {
    const id = this.subscriberId;
    if (this.closed || this.up || id === null || !this.bothReady()) return;
    const attempt = ++this.attempt;
    try {
      // After a Sentinel failover the two connections may briefly sit on different servers, where
      // the id could name a stranger: check it is our subscriber, on the main connection's server.
      const target = String(await this.main.call('CLIENT', 'LIST', 'ID', id));
      if (!target.includes(` name=${this.name} `)) throw new Error(`client ${id} is not our subscriber on this server`);
      // ON again with another redirect is refused ("prefix overlaps"), so turn it off first.
      await this.main.call('CLIENT', 'TRACKING', 'off');
      await this.main.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', id, 'BCAST', 'PREFIX', this.prefix);
    } catch (error) {
      if (attempt !== this.attempt || this.closed) return;
      this.logger.warn(`Enabling CLIENT TRACKING failed (${(error as Error).message}); retrying`);
      clearTimeout(this.retry);
      this.retry = setTimeout(() => void this.establish(), RETRY_MS).unref();
      return;
    }
    // Anything that happened meanwhile (a drop, a newer attempt) wins over this answer.
    if (attempt === this.attempt && this.subscriberId === id && !this.closed && this.bothReady()) this.setUp(true);
  }

  /** A subscriber that stopped answering (a partition, no FIN) must not keep the cache on. */
  private async beat(): Promise<void> {
    if (!this.up) return;
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer')), HEARTBEAT_MS).unref());
    try {
      await Promise.race([this.subscriber.ping(), timeout]);
    } catch (error) {
      this.lost(`heartbeat failed: ${(error as Error).message}`);
      this.subscriber.disconnect(true);
    }
  }

  private bothReady(): boolean {
    return this.main.status === 'ready' && this.subscriber.status === 'ready';
  }

  private lost(reason: string): void {
    this.attempt++;
    if (this.subscriber.status !== 'ready') this.subscriberId = null;
    if (this.up && !this.closed) this.logger.warn(`Near-cache off (${reason}): reading from Redis until the link is back`);
    this.setUp(false);
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    if (up) this.logger.log('Near-cache on: Redis invalidates changed sessions (CLIENT TRACKING BCAST)');
    this.listener.linkChanged(up);
  }
}
