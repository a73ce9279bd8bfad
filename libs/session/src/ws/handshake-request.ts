import type { SessionRequest } from '../http/http-message.js';

/** The part of a socket.io `Socket` the library uses (typed here so socket.io stays optional). */
export interface SessionSocket {
  readonly id: string;
  readonly handshake: {
    readonly headers: Record<string, string | string[] | undefined>;
    readonly auth?: Record<string, unknown>;
  };
  emit(event: string, ...args: unknown[]): unknown;
  disconnect(close?: boolean): unknown;
  once?(event: 'disconnect', listener: () => void): unknown;
}

const requests = new WeakMap<object, SessionRequest>();
const allowedOrigins = new WeakMap<object, readonly string[]>();

export const isSessionSocket = (value: unknown): value is SessionSocket =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as SessionSocket).handshake === 'object' &&
  typeof (value as SessionSocket).disconnect === 'function';

/** Origins (besides the socket's own) whose pages may use the session cookie in a handshake. */
export function trustOrigins(socket: SessionSocket, origins: readonly string[]): void {
  allowedOrigins.set(socket, origins);
}

/**
 * The handshake as a request the strategies can read, built once per socket:
 * - `auth: { token }` (what browsers can send, they cannot set headers on a WebSocket) is read as
 *   `Authorization: Bearer <token>` unless the handshake has an Authorization header itself;
 * - the Cookie header only counts when the page that opened the socket is from this origin (or a
 *   trusted one). WebSockets have no CORS, and browsers attach cookies to a handshake started by
 *   another site's page on the same site (cross-site WebSocket hijacking); SameSite=Lax alone does
 *   not cover sibling subdomains or ports. Bearer tokens are never sent by the browser on its own.
 */
export function handshakeRequest(socket: SessionSocket): SessionRequest {
  const cached = requests.get(socket);
  if (cached) return cached;
  const headers = { ...socket.handshake.headers };
  const token = socket.handshake.auth?.token;
  if (typeof token === 'string' && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
  if (!originTrusted(headers, allowedOrigins.get(socket) ?? [])) delete headers.cookie;
  const request: SessionRequest = { headers };
  requests.set(socket, request);
  return request;
}

function originTrusted(headers: SessionRequest['headers'], trusted: readonly string[]): boolean {
  const origin = headers.origin;
  // No Origin header: not a browser page, so no ambient cookie to abuse.
  if (origin === undefined) return true;
  if (typeof origin !== 'string') return false;
  if (trusted.includes(origin)) return true;
  try {
    return new URL(origin).host === headers.host;
  } catch {
    return false;
  }
}
