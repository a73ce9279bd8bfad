import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { SessionEndedBus, storeIdDigest, type SessionEnded } from '../revocation/session-ended.bus.js';
import { SessionStoreUnavailableError } from '../session.errors.js';
import { SessionLoader } from '../session-loader.js';
import { sessionState, type UserSession } from '../user-session.js';
import { handshakeRequest, trustOrigins, type SessionSocket } from './handshake-request.js';
import { endSocket, type SessionEndedReason } from './socket-ending.js';
import { markAdmitted } from './ws-message-session.js';

/** The session a socket was admitted with. */
export interface SocketSessionInfo {
  /** The session's handle (`UserSession.id`): not a credential. */
  readonly id: string;
  readonly userId: string | null;
}

export interface AttachSessionOptions {
  /**
   * Origins, besides the server's own, whose pages may connect with the session cookie
   * (e.g. `'https://app.example.com'`). Bearer tokens (`auth: { token }`) work from any origin.
   * @default the module's `csrf.trustedOrigins`
   */
  allowedOrigins?: readonly string[];
}

/** What `attach` needs of a socket.io Server or Namespace. */
export interface SocketMiddlewareHost {
  use(middleware: (socket: SessionSocket, next: (error?: Error) => void) => void): unknown;
}

interface Tracked {
  readonly socket: SessionSocket;
  readonly digest: string;
  readonly info: SocketSessionInfo;
  timer: NodeJS.Timeout | null;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Sessions for socket.io gateways: `attach(server)` in `afterInit` refuses a handshake without a
 * live session (cookie, `auth: { token }` or an Authorization header), and closes each admitted
 * socket when its session is destroyed, rotated or revoked on any app instance, or reaches its
 * absolute deadline.
 * @example afterInit(server: Server) { this.sockets.attach(server); }
 */
@Injectable()
export class SessionSockets implements OnModuleDestroy {
  private readonly byDigest = new Map<string, Set<Tracked>>();
  private readonly byUser = new Map<string, Set<Tracked>>();
  private readonly infos = new WeakMap<object, SocketSessionInfo>();
  private unlisten: (() => void) | null = null;

  constructor(
    private readonly loader: SessionLoader,
    private readonly bus: SessionEndedBus,
  ) {}

  /** Installs the handshake check on a socket.io Server or Namespace. */
  attach(server: SocketMiddlewareHost, options: AttachSessionOptions = {}): void {
    this.unlisten ??= this.bus.listen((event) => this.ended(event));
    const origins = options.allowedOrigins ?? [...(this.loader.options.csrf?.trustedOrigins ?? [])];
    server.use((socket, next) => {
      trustOrigins(socket, origins);
      this.admit(socket).then(() => next(), (error: Error) => next(error));
    });
  }

  /** The session a socket was admitted with, or undefined for a socket `attach` did not admit. */
  sessionOf(socket: object): SocketSessionInfo | undefined {
    return this.infos.get(socket);
  }

  onModuleDestroy(): void {
    this.unlisten?.();
    this.unlisten = null;
    for (const set of this.byDigest.values()) for (const entry of set) if (entry.timer) clearTimeout(entry.timer);
    this.byDigest.clear();
    this.byUser.clear();
  }

  private async admit(socket: SessionSocket): Promise<void> {
    let outcome;
    try {
      outcome = await this.loader.load(handshakeRequest(socket));
    } catch (error) {
      if (error instanceof SessionStoreUnavailableError) throw refusal(503, 'Session store unavailable, retry shortly');
      throw error;
    }
    if (outcome.kind !== 'loaded') {
      throw refusal(401, outcome.kind === 'rejected' ? outcome.reason : 'Authentication required: no session credential');
    }
    this.track(socket, outcome.session);
  }

  private track(socket: SessionSocket, session: UserSession<object>): void {
    const state = sessionState(session);
    const info: SocketSessionInfo = { id: session.id, userId: session.userId };
    const entry: Tracked = { socket, digest: storeIdDigest(state.storeId!), info, timer: null };
    this.infos.set(socket, info);
    markAdmitted(socket);
    add(this.byDigest, entry.digest, entry);
    if (info.userId !== null) add(this.byUser, info.userId, entry);
    this.armDeadline(entry, state.absoluteDeadline);
    socket.once?.('disconnect', () => this.untrack(entry));
  }

  private armDeadline(entry: Tracked, deadline: number): void {
    const wait = deadline - Date.now();
    // setTimeout cannot wait longer than ~24.8 days: re-arm until the deadline is in reach.
    const fire = (): void => (wait > MAX_TIMER_MS ? this.armDeadline(entry, deadline) : this.close(entry, 'expired'));
    entry.timer = setTimeout(fire, Math.min(Math.max(wait, 0), MAX_TIMER_MS));
    entry.timer.unref();
  }

  private ended(event: SessionEnded): void {
    if (event.kind === 'session') {
      for (const entry of [...(this.byDigest.get(event.digest) ?? [])]) this.close(entry, event.reason);
      return;
    }
    for (const entry of [...(this.byUser.get(event.userId) ?? [])]) {
      const matches = event.kind === 'handle' ? entry.info.id === event.handle : entry.info.id !== event.except;
      if (matches) this.close(entry, 'revoked');
    }
  }

  private close(entry: Tracked, reason: SessionEndedReason): void {
    this.untrack(entry);
    endSocket(entry.socket, reason);
  }

  private untrack(entry: Tracked): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    remove(this.byDigest, entry.digest, entry);
    if (entry.info.userId !== null) remove(this.byUser, entry.info.userId, entry);
  }
}

function refusal(status: number, message: string): Error {
  // socket.io sends `message` and `data` to the client's connect_error listener.
  return Object.assign(new Error(message), { data: { status } });
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key) ?? new Set<V>();
  set.add(value);
  map.set(key, set);
}

function remove<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
