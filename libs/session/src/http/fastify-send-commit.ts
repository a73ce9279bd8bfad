import { requestSession } from '../request-session.js';
import { commitSession, mustSaveBeforeSending } from '../session-commit.js';
import { toHttpError } from '../session-http-errors.js';
import { responseWriter } from './http-message.js';

/** The slice of Fastify this needs: the library does not depend on Fastify's types. */
interface FastifyReplyLike {
  readonly statusCode: number;
}
type OnSendDone = (error: unknown, payload?: unknown) => void;
export interface FastifyLike {
  addHook(name: 'onSend', hook: (request: object, reply: FastifyReplyLike, payload: unknown, done: OnSendDone) => void): unknown;
}

/**
 * `commit: 'on-send'` on Fastify: saves each request's session changes from Fastify's `onSend`
 * hook, which runs once the handler's result is serialized and before any byte of the response is
 * written, so a new or rotated cookie still goes out with it. A read-only request costs one
 * property read. Added before Fastify is ready: Fastify applies hooks added until then to every route.
 */
export function installFastifySendCommit(fastify: FastifyLike): void {
  fastify.addHook('onSend', commitOnSend);
}

function commitOnSend(request: object, reply: FastifyReplyLike, payload: unknown, done: OnSendDone): void {
  const session = requestSession(request);
  if (!mustSaveBeforeSending(session, reply.statusCode)) return done(null, payload);
  const response = responseWriter(reply);
  // A failure goes to done(error): Nest's Fastify error handler, i.e. the app's global exception filters.
  commitSession(session, response).then(
    () => done(null, payload),
    (error: unknown) => done(toHttpError(error, response)),
  );
}
