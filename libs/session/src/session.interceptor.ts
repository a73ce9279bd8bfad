import { Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Observable, type Subscriber } from 'rxjs';
import type { ResponseWriter } from './http/http-message.js';
import { toHttpError } from './session-http-errors.js';
import { commitIfNoop, commitSession } from './session-commit.js';
import { requestSession } from './request-session.js';
import { interceptGraphqlResolver } from './graphql/graphql-session-commit.js';
import { requestHost } from './request-host.js';
import { interceptWsMessage } from './ws/ws-message-session.js';

/**
 * Saves the session's changes after the handler and before the response is written, so the next
 * request reads its own writes and a new or rotated credential goes out with this response.
 * GraphQL: after the request's resolvers (see graphql/); gateways: after each message (see ws/).
 */
@Injectable()
export class SessionCommitInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const type = context.getType<string>();
    if (type === 'ws') return interceptWsMessage(context, next);
    const host = requestHost(context);
    const session = host && requestSession(host.request);
    // Another transport, or no guard ran (guard: 'route' and a route without one): nothing to save.
    if (!host || !session) return next.handle();
    return type === 'graphql'
      ? interceptGraphqlResolver(session, host.response, next)
      : commitBeforeSending(next.handle(), host.request, host.response);
  }
}

const logger = new Logger('Session');

/**
 * An @Res() handler answered by itself, before the save that then failed: no answer can carry the
 * failure any more, and the client was told it worked. Say so where an operator looks.
 */
function lostAfterAnswer(subscriber: Subscriber<unknown>, error: unknown): void {
  logger.error(`A session save failed after the response was sent by its handler (@Res()), so it may be lost or half done (a new cookie could not go out): ${String(error)}`);
  subscriber.complete();
}

/**
 * The handler's result, emitted once the session is saved; errors mapped to HTTP answers. Written
 * as one plain Observable rather than mergeMap + catchError + from(promise): this runs on every
 * request, and a read-only request (nothing to save) passes through without any async step.
 */
function commitBeforeSending(source: Observable<unknown>, request: object, response: ResponseWriter): Observable<unknown> {
  return new Observable((subscriber) => {
    let pending = 0;
    let completed = false;
    /** Set once a save started: what the handler emits later queues behind it, in order (Nest answers with the last). */
    let saved: Promise<void> | null = null;
    const fail = (error: unknown) => subscriber.error(toHttpError(error, response));
    const emit = (body: unknown) => {
      subscriber.next(body);
      if (--pending === 0 && completed) subscriber.complete();
    };
    return source.subscribe({
      next: (body) => {
        pending++;
        if (saved) {
          saved = saved.then(() => emit(body));
          return;
        }
        const session = requestSession(request);
        if (!session || commitIfNoop(session)) return emit(body);
        saved = commitSession(session, response).then(
          () => emit(body),
          (error: unknown) => (response.headersWritable ? fail(error) : lostAfterAnswer(subscriber, error)),
        );
      },
      error: fail,
      complete: () => {
        completed = true;
        if (pending === 0) subscriber.complete();
      },
    });
  });
}
