/**
 * socket.io client helpers for the gateway suites: connect with a cookie or a bearer token, wait
 * for a refusal or a server-side close, all with bounded waits.
 */
import { io, type Socket } from 'socket.io-client';

export const WAIT_MS = 8_000;

export interface Credentials {
  /** `name=value` Cookie header. */
  readonly cookie?: string;
  /** Sent as `auth: { token }` (what a browser can send). */
  readonly token?: string;
  readonly origin?: string;
}

/** Why the server refused a handshake (socket.io's connect_error). */
export class Refused extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

export interface Closed {
  /** socket.io's disconnect reason ('io server disconnect' when the server closed it). */
  readonly reason: string;
  /** The `session.ended` event's reason, if it came before the close. */
  readonly ended: string | null;
}

export interface OpenSocket {
  readonly socket: Socket;
  /** Resolves when the socket is closed (by either side); never rejects. */
  readonly closed: Promise<Closed>;
  /** Every `exception` event the gateway sent. */
  readonly exceptions: unknown[];
  ack<T = unknown>(event: string, data?: unknown): Promise<T>;
  /** Sends a message that must fail: resolves with the gateway's `exception` payload, rejects on a reply. */
  failure(event: string, data?: unknown): Promise<unknown>;
  close(): void;
}

/** Connects over WebSocket only (no polling), without reconnection; rejects with Refused. */
export function connect(url: string, credentials: Credentials = {}): Promise<OpenSocket> {
  const extraHeaders: Record<string, string> = {};
  if (credentials.cookie) extraHeaders.cookie = credentials.cookie;
  if (credentials.origin) extraHeaders.origin = credentials.origin;
  const socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: WAIT_MS,
    extraHeaders,
    auth: credentials.token ? { token: credentials.token } : {},
  });
  let ended: string | null = null;
  const exceptions: unknown[] = [];
  socket.on('session.ended', (payload: { reason?: string }) => {
    ended = payload?.reason ?? 'unknown';
  });
  socket.on('exception', (payload: unknown) => exceptions.push(payload));
  const closed = new Promise<Closed>((resolve) => socket.on('disconnect', (reason) => resolve({ reason, ended })));
  return new Promise<OpenSocket>((resolve, reject) => {
    socket.once('connect', () =>
      resolve({
        socket,
        closed,
        exceptions,
        ack: <T>(event: string, data?: unknown) => socket.timeout(WAIT_MS).emitWithAck(event, data) as Promise<T>,
        failure: (event: string, data?: unknown) => failure(socket, event, data),
        close: () => void socket.disconnect(),
      }),
    );
    socket.once('connect_error', (error: Error & { data?: { status?: number } }) => {
      socket.close();
      reject(new Refused(error.message, error.data?.status));
    });
  });
}

function failure(socket: Socket, event: string, data: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exception for "${event}" within ${WAIT_MS} ms`)), WAIT_MS);
    socket.once('exception', (payload: unknown) => {
      clearTimeout(timer);
      resolve(payload);
    });
    socket.emit(event, data, (reply: unknown) => {
      clearTimeout(timer);
      reject(new Error(`"${event}" was answered: ${JSON.stringify(reply)}`));
    });
  });
}

/** The refusal of a handshake that must fail (fails the test if it connects). */
export async function refusal(url: string, credentials: Credentials): Promise<Refused> {
  try {
    const open = await connect(url, credentials);
    open.close();
  } catch (error) {
    if (error instanceof Refused) return error;
    throw error;
  }
  throw new Error(`the handshake with ${JSON.stringify(credentials)} was accepted`);
}

/** Resolves with how the socket was closed, or rejects if it is still open after `ms`. */
export function closedWithin(open: OpenSocket, ms = WAIT_MS): Promise<Closed> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
  });
  return Promise.race([open.closed, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms` if the socket stayed open, rejects if it was closed meanwhile. */
export async function staysOpen(open: OpenSocket, ms: number): Promise<void> {
  const outcome = await Promise.race([open.closed, new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), ms))]);
  if (outcome !== 'open') throw new Error(`socket was closed: ${JSON.stringify(outcome)}`);
}
