import { Catch, Injectable, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
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
@Injectable()
export class SessionErrorFilter implements ExceptionFilter<SessionError> {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: SessionError, host: ArgumentsHost): unknown {
    // Global filters also see GraphQL resolvers, whose driver reports an error handed back to it.
    if (host.getType() !== 'http') return error;
    const mapped = toHttpError(error, responseWriter(host.switchToHttp().getResponse()));
    // Built per error, not per request: the adapter exists only once the app does (not at compile time in tests).
    return new BaseExceptionFilter(this.adapterHost.httpAdapter).catch(mapped, host);
  }
}
