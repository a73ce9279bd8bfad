import { Logger, type CallHandler } from '@nestjs/common';
import { catchError, defer, finalize, from, mergeMap, throwError, type Observable } from 'rxjs';
import type { ResponseWriter } from '../http/http-message.js';
import { commitSession } from '../session-commit.js';
import { toHttpError } from '../session-http-errors.js';
import { sessionState, type UserSession } from '../user-session.js';

interface Operation {
  /** The last commit; the next resolver starts after it. */
  committing: Promise<void>;
}

const operations = new WeakMap<object, Operation>();
const logger = new Logger('Session');

/**
 * Commits a GraphQL request's session after its resolvers. One request runs several root resolvers
 * (in parallel for a query, one after the other for a mutation), all sharing one session:
 * - the last resolver to finish commits what all of them changed, so a query's parallel fields
 *   never write into a commit in flight;
 * - a resolver that starts after a commit (the next mutation field) waits for it and gets the
 *   session open again, so `mutation { a b }` saves the changes of both.
 * Field resolvers run after their root resolver's commit and must not write (they get an error
 * saying so), unless the app lets interceptors run on them (`fieldResolverEnhancers`).
 * A resolver that throws does not discard what it changed: its siblings' commit saves it.
 */
export function interceptGraphqlResolver(
  session: UserSession<object>,
  response: ResponseWriter,
  next: CallHandler,
): Observable<unknown> {
  const operation = operations.get(session) ?? { committing: Promise.resolve() };
  operations.set(session, operation);
  const state = sessionState(session);
  const leave = (): Promise<void> => {
    state.resolversRunning--;
    if (state.resolversRunning > 0) return Promise.resolve();
    operation.committing = commitSession(session, response);
    return operation.committing;
  };
  return defer(async () => {
    // Until no commit is in flight: another resolver may have finished while we waited.
    let awaited: Promise<void>;
    do {
      awaited = operation.committing;
      await awaited.catch(() => undefined);
    } while (awaited !== operation.committing);
  }).pipe(
    // Entered here, not in defer(): a caller that unsubscribed while it waited never gets here.
    mergeMap(() => {
      reopen(session);
      state.resolversRunning++;
      let left = false;
      const leaveOnce = (): Promise<void> => (left ? Promise.resolve() : ((left = true), leave()));
      return next.handle().pipe(
        mergeMap((result) => from(leaveOnce().then(() => result))),
        catchError((error: unknown) =>
          from(leaveOnce().catch(() => undefined)).pipe(mergeMap(() => throwError(() => toHttpError(error, response)))),
        ),
        // Completed without a value (EMPTY), or unsubscribed (an outer timeout()): still leaves, so
        // the siblings' changes are saved and the response hook is not left waiting on this one.
        finalize(() => {
          if (!left) void leaveOnce().catch((error: unknown) => logger.error(`A GraphQL request's session save failed after a resolver ended without a result: ${String(error)}`));
        }),
      );
    }),
  );
}

/**
 * Makes a committed session writable again for the next resolver of the same request: what the
 * commit saved is forgotten, the new identity (if any) is now the session's own. A destroyed
 * session stays closed.
 */
function reopen(session: UserSession<object>): void {
  const state = sessionState(session);
  if (!state.committed || state.destroyed) return;
  state.clearDelta();
  state.rotateTo = null;
  state.dropPrevious = null;
  state.droppedUserId = null;
  state.committed = false;
}
