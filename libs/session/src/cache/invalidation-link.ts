import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomToken } from '../crypto.util.js';

/** The Pub/Sub channel Redis publishes tracking invalidations on (RESP2 redirect mode). */
export const INVALIDATION_CHANNEL = '__redis__:invalidate';

/** Heartbeat on the subscriber: a link that silently stopped answering is declared down. */
const HEARTBEAT_MS = 1000;
/** Delay before a fresh subscriber connection is tried after setting the link up failed. */
const RETRY_MS = 1000;

export interface InvalidationListener {
  /** Redis reported these keys changed (or, with null, that the database was flushed). */
  invalidated(keys: string[] | null): void;
  /** True once a live subscriber tracks the prefix; false as soon as either connection is lost. */
  linkChanged(up: boolean): void;
}

/**
 * Server-assisted client-side caching (`CLIENT TRACKING`) for one standalone or Sentinel Redis.
 *
 * A connection of its own (RESP2: ioredis drops RESP3 push frames) turns tracking on in broadcast
 * mode for the session-key prefix, redirected to itself, and subscribes to `__redis__:invalidate`.
 * BCAST reports every write under the prefix whichever connection made it, so tracking need not
 * sit on the connection that reads. The app's connection (possibly its own client, possibly shared
 * with another store) is never switched: tracking there would be overwritten by the next user of
 * that client and dropped by the first one to close. On this connection it lives and dies with the
 * subscription the heartbeat checks.
 *
 * No NOLOOP: this process's own writes come back as invalidations too. NOLOOP would not suppress
 * them anyway (every session write is a Lua script, and in BCAST mode Redis attributes a script's
 * writes to the script client, not the caller: measured on 7.0), and where it does apply, BCAST
 * remembers only the last writer of a key per event-loop batch, so another server's change in the
 * same batch as ours would never be reported. An own write costs one extra cache miss; never a
 * stale read.
 *
 * The link is down (the cache is flushed and bypassed) while either connection is down, and comes
 * back only once the main connection sees our subscriber on its own server: after a Sentinel
 * failover the two may briefly sit on different servers, and invalidations from the wrong one
 * would miss the writes.
 */
export class InvalidationLink {
  private readonly logger = new Logger('SessionCache');
  private readonly subscriber: Redis;
  /** Unique, so the main connection can check which client is our subscriber. */
  private readonly name = `nestjs-redis-session:invalidation:${randomToken(6)}`;
  /** Set once the current subscriber connection tracks and listens. */
  private subscriberId: number | null = null;
  /** Bumped on each subscriber connect and drop, so a setup for an earlier connection gives up. */
  private connection = 0;
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
      // A setup command resent on the next connection would set up tracking for an id that no
      // longer exists, or race that connection's own setup: every connection starts from scratch.
      autoResendUnfulfilledCommands: false,
      enableOfflineQueue: false,
      enableAutoPipelining: false,
      connectionName: this.name,
    });
    // 'close' follows every connection error; the listener only keeps ioredis from logging it.
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('close', () => {
      this.connection++;
      this.lost('invalidation connection lost');
    });
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

  /** Tracking ends with the subscriber connection; the main connection was never changed. */
  async close(): Promise<void> {
    // Once only: ioredis's disconnect() on a connection already ended leaves a timer behind.
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.retry);
    this.main.off('ready', this.onMainReady);
    this.main.off('close', this.onMainLost);
    this.setUp(false);
    this.subscriber.disconnect();
  }

  /**
   * Sets up a new subscriber connection. Tracking must be on before SUBSCRIBE: once subscribed, a
   * RESP2 connection accepts no other command. Invalidations sent in between go nowhere, which is
   * harmless: the link is not up yet, and the cache comes up empty.
   */
  private async subscribe(): Promise<void> {
    const connection = ++this.connection;
    let id: number;
    try {
      id = Number(await this.subscriber.call('CLIENT', 'ID'));
      await this.subscriber.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', id, 'BCAST', 'PREFIX', this.prefix);
      await this.subscriber.subscribe(INVALIDATION_CHANNEL);
    } catch (error) {
      if (connection === this.connection) this.failed(`subscribing failed: ${(error as Error).message}`);
      return;
    }
    if (connection !== this.connection) return;
    this.subscriberId = id;
    await this.establish();
  }

  /** Declares the link up once the main connection finds our subscriber on its own server. */
  private async establish(): Promise<void> {
    const id = this.subscriberId;
    if (this.closed || this.up || id === null || !this.bothReady()) return;
    const attempt = ++this.attempt;
    try {
      const target = String(await this.main.call('CLIENT', 'LIST', 'ID', id));
      if (!target.includes(` name=${this.name} `)) throw new Error(`client ${id} is not our subscriber on this server`);
    } catch (error) {
      // Superseded (a drop, a newer attempt): whatever comes next sets the link up again.
      if (attempt === this.attempt && !this.closed) this.failed(`checking the subscriber failed: ${(error as Error).message}`);
      return;
    }
    // Anything that happened meanwhile (a drop, a newer attempt) wins over this answer.
    if (attempt === this.attempt && this.subscriberId === id && !this.closed && this.bothReady()) this.setUp(true);
  }

  /**
   * A setup step failed (a command timed out during a stall, an ACL refusal, a failover). Nothing
   * else would retry: the connections may both stay up, and the heartbeat only watches a link that
   * is up. So the subscriber reconnects, and its next 'ready' starts over on a clean connection (a
   * timed-out command may still have run on this one). Logged every time: the cache stays off.
   */
  private failed(reason: string): void {
    if (this.closed) return;
    this.logger.warn(`Near-cache link not set up (${reason}); reading from Redis, retrying in ${RETRY_MS} ms`);
    const connection = this.connection;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      // Not ready: already reconnecting, and its 'ready' sets up again.
      if (!this.closed && connection === this.connection && this.subscriber.status === 'ready') this.subscriber.disconnect(true);
    }, RETRY_MS).unref();
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
