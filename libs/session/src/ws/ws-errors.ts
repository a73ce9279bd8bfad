import { HttpException } from '@nestjs/common';
import type { ResponseWriter } from '../http/http-message.js';
import { SessionUsageError } from '../session.errors.js';
import { toHttpError } from '../session-http-errors.js';

/** A gateway cannot set headers: Set-Cookie and Retry-After have nowhere to go. */
export const NO_HEADERS: ResponseWriter = { headersWritable: false, appendHeader: () => undefined };

/** What a client receives in the gateway's `exception` event for a session problem. */
export interface WsSessionErrorBody {
  readonly status: 'error';
  /** The HTTP status the same problem has over HTTP: 401, 413, 503, ... */
  readonly code: number;
  readonly message: string;
}

/**
 * Maps the library's errors to a `WsException` (which Nest's gateway filter sends to the client in
 * its `exception` event) with the HTTP status as `code`. @nestjs/websockets is imported only here,
 * and only when a gateway is running, so apps without gateways need not install it.
 */
export async function toWsError(error: unknown): Promise<unknown> {
  const mapped = toHttpError(error, NO_HEADERS);
  if (mapped instanceof HttpException) return wsError(mapped.getStatus(), mapped.message);
  if (mapped instanceof SessionUsageError) return wsError(500, mapped.message);
  return mapped;
}

export async function wsError(code: number, message: string): Promise<Error> {
  const { WsException } = await import('@nestjs/websockets');
  const body: WsSessionErrorBody = { status: 'error', code, message };
  return new WsException(body);
}
