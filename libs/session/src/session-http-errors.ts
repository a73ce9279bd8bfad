import {
  BadRequestException,
  ConflictException,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import type { ResponseWriter } from './http/http-message.js';
import {
  SessionDataError,
  SessionDataTooLargeError,
  SessionDurabilityError,
  SessionGoneError,
  SessionReplacedError,
  SessionStoreUnavailableError,
  SessionSignInRequiredError,
} from './session.errors.js';

/** Seconds a client should wait before retrying when the store is unavailable. */
const RETRY_AFTER_SECONDS = '1';

/**
 * Never throws: this runs inside the handlers of a failed save, where a throw (Express's
 * ERR_HTTP_HEADERS_SENT after a handler answered by itself) would be an unhandled rejection.
 */
function adviseRetry(response: ResponseWriter): void {
  if (response.headersWritable) response.appendHeader('Retry-After', RETRY_AFTER_SECONDS);
}

/**
 * Maps the library's errors to HTTP answers: a store outage is a 503 with Retry-After (never a 500
 * and never an anonymous request), so is a sign-out the replicas did not confirm (`durability`),
 * a session ended mid-request a 401, a rotated-away one changed within its grace a 409, oversized
 * data a 413.
 */
export function toHttpError(error: unknown, response: ResponseWriter): unknown {
  if (error instanceof SessionStoreUnavailableError) {
    adviseRetry(response);
    return new ServiceUnavailableException('Session store unavailable, retry shortly');
  }
  if (error instanceof SessionDurabilityError) {
    adviseRetry(response);
    return new ServiceUnavailableException(error.message);
  }
  if (error instanceof SessionGoneError) return new UnauthorizedException(error.message);
  if (error instanceof SessionReplacedError) return new ConflictException(error.message);
  if (error instanceof SessionDataTooLargeError) return new PayloadTooLargeException(error.message);
  if (error instanceof SessionSignInRequiredError) return new UnauthorizedException(error.message);
  if (error instanceof SessionDataError) return new BadRequestException(error.message);
  return error;
}
