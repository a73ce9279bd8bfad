import { Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { SessionError } from '../session.errors.js';
import { toHttpError } from '../session-http-errors.js';
import { responseWriter } from './http-message.js';

/**
 * `commit: 'on-send'` has no interceptor around the handler to turn the library's errors thrown
 * there (a store outage during `increment`, data over `maxDataBytes`, ...) into HTTP answers, so
 * this global filter does, then answers as Nest's default filter would. An app filter that catches
 * everything is asked first and sees the SessionError itself.
 */
@Catch(SessionError)
export class SessionErrorFilter extends BaseExceptionFilter {
  override catch(error: SessionError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return super.catch(error, host);
    super.catch(toHttpError(error, responseWriter(host.switchToHttp().getResponse())), host);
  }
}
