import { Catch, Injectable, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { throwError } from 'rxjs';
import { SessionError } from '../session.errors.js';
import { toHttpError } from '../session-http-errors.js';
import { responseWriter } from './http-message.js';

/**
 * Turns the library's errors (a store outage, data over `maxDataBytes`, a bad user id, ...) into
 * HTTP answers wherever Nest's filters see them, then answers as Nest's default filter would:
 * thrown by a handler under `commit: 'on-send'` (no interceptor around it), or by a guard or a
 * middleware in either mode. An app filter that catches everything is asked first and sees the
 * SessionError itself.
 */
@Catch(SessionError)
@Injectable()
export class SessionErrorFilter implements ExceptionFilter<SessionError> {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: SessionError, host: ArgumentsHost): unknown {
    // Global filters also see GraphQL resolvers, whose driver reports an error handed back to it,
    // and, in a hybrid app, microservice handlers, which expect an Observable of the error.
    const type = host.getType<string>();
    if (type === 'rpc') return throwError(() => error);
    if (type !== 'http') return error;
    const mapped = toHttpError(error, responseWriter(host.switchToHttp().getResponse()));
    // Built per error, not per request: the adapter exists only once the app does (not at compile time in tests).
    return new BaseExceptionFilter(this.adapterHost.httpAdapter).catch(mapped, host);
  }
}
