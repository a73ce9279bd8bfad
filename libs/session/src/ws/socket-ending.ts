import type { SessionSocket } from './handshake-request.js';

/** The client-side event sent just before the server closes a socket whose session ended. */
export const SESSION_ENDED_EVENT = 'session.ended';

/**
 * Why a socket's session ended, as sent in the `session.ended` event: signed out, rotated to a new
 * id (reconnect with the new cookie), revoked from another session, or past its deadline or gone.
 */
export type SessionEndedReason = 'destroyed' | 'rotated' | 'revoked' | 'expired';

/**
 * Tells the client why, then closes the socket, after the current turn: a message that ended its
 * own session still gets its reply or its exception first.
 */
export function endSocket(socket: SessionSocket, reason: SessionEndedReason): void {
  setImmediate(() => {
    socket.emit(SESSION_ENDED_EVENT, { reason });
    socket.disconnect(true);
  });
}
