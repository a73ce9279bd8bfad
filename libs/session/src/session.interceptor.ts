import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { catchError, from, mergeMap, type Observable } from 'rxjs';
import { responseWriter } from './http/http-message.js';
import { sessionFromContext } from './session.decorators.js';
import { toHttpError } from './session-http-errors.js';
import { commitSession } from './session-commit.js';

/**
 * Saves the session's changes after the handler and before the response is written, so the next
 * request reads its own writes and a new or rotated credential goes out with this response.
 */
@Injectable()
export class SessionCommitInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const response = responseWriter(context.switchToHttp().getResponse());
    return next.handle().pipe(
      mergeMap((body) => {
        const session = sessionFromContext(context);
        return session ? from(commitSession(session, response).then(() => body)) : [body];
      }),
      catchError((error: unknown) => {
        throw toHttpError(error, response);
      }),
    );
  }
}
