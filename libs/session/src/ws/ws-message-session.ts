import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { catchError, from, mergeMap, type Observable } from 'rxjs';
import { SessionUsageError } from '../session.errors.js';
import { commitSession } from '../session-commit.js';
import type { SessionLoader } from '../session-loader.js';
import { sessionState, type UserSession } from '../user-session.js';
import { handshakeRequest, isSessionSocket, type SessionSocket } from './handshake-request.js';
import { endSocket } from './socket-ending.js';
import { NO_HEADERS, toWsError, wsError } from './ws-errors.js';

/**
 * One session per message, like one per HTTP request: loaded by the guard from the handshake's
 * credential, handed to the handler, committed after it. Messages on one socket may run at the same
 * time, so nothing per message is stored on the socket: the guard and the interceptor share the
 * invocation's argument array, and the handler (with its parameter decorators) runs inside an
 * AsyncLocalStorage scope the interceptor opens.
 */
const loadedFor = new WeakMap<object, UserSession<object>>();
const current = new AsyncLocalStorage<UserSession<object>>();
/** Sockets admitted by SessionSockets: closed when their session turns out to be gone. */
const admitted = new WeakSet<object>();

export const markAdmitted = (socket: SessionSocket): void => void admitted.add(socket);

/** The session of the message being handled, for `@Session()`. */
export const currentWsSession = (): UserSession<object> | undefined => current.getStore();

/** SessionGuard for a gateway message. */
export async function activateWsMessage(context: ExecutionContext, loader: SessionLoader, anonymous: boolean): Promise<boolean> {
  const args = context.getArgs();
  if (loadedFor.has(args)) return true;
  const socket: unknown = context.switchToWs().getClient();
  if (!isSessionSocket(socket)) {
    // The `ws` adapter: no handshake to read. An @AllowAnonymous() gateway still works, without a session.
    if (anonymous) return true;
    throw new SessionUsageError(
      'Sessions in gateways need the socket.io adapter (@nestjs/platform-socket.io): this client has no handshake. ' +
        'Mark gateways on another adapter @AllowAnonymous() if they need no session.',
    );
  }
  const request = handshakeRequest(socket);
  let outcome;
  try {
    outcome = await loader.load(request);
  } catch (error) {
    throw await toWsError(error);
  }
  if (outcome.kind === 'loaded') {
    loadedFor.set(args, outcome.session);
    return true;
  }
  // An admitted socket whose session is gone (expired, or an announcement was lost) is useless.
  if (outcome.kind === 'rejected' && admitted.has(socket)) endSocket(socket, 'expired');
  if (!anonymous) {
    throw await wsError(401, outcome.kind === 'rejected' ? outcome.reason : 'Authentication required: no session credential');
  }
  loadedFor.set(args, loader.fresh(request));
  return true;
}

/** SessionCommitInterceptor for a gateway message: runs the handler with its session, then commits. */
export function interceptWsMessage(context: ExecutionContext, next: CallHandler): Observable<unknown> {
  const args = context.getArgs();
  const session = loadedFor.get(args);
  if (!session) return next.handle();
  loadedFor.delete(args);
  // handle() binds the async scope it is called in, so the handler sees `session` as current.
  return current.run(session, () => next.handle()).pipe(
    mergeMap((result) => from(commitMessage(session).then(() => result))),
    catchError((error: unknown) => from(toWsError(error)).pipe(mergeMap((mapped) => Promise.reject(mapped)))),
  );
}

async function commitMessage(session: UserSession<object>): Promise<void> {
  const state = sessionState(session);
  const startsSession = state.storeId === null && (state.userId !== null || state.values.size > 0);
  if (!state.committed && !state.destroyed && (state.rotateTo || state.dropPrevious || startsSession)) {
    throw new SessionUsageError(
      'A WebSocket message cannot sign in, rotate or start a session: the client could not receive the new ' +
        'credential (no Set-Cookie on a socket). Do it over HTTP, then reconnect the socket.',
    );
  }
  await commitSession(session, NO_HEADERS);
}
