import { Logger } from '@nestjs/common';
import { requestSession } from '../request-session.js';
import { commitSession, mustSaveBeforeSending } from '../session-commit.js';
import { toHttpError } from '../session-http-errors.js';
import { responseWriter } from './http-message.js';

/** The slice of Express this needs: the library does not depend on Express's types. */
interface ExpressResponseLike {
  readonly req: object & { next?: (error?: unknown) => void };
  readonly statusCode: number;
  readonly headersSent: boolean;
  readonly writableNeedDrain: boolean;
  emit(event: 'drain'): boolean;
  destroy(): unknown;
}
type Write = (this: ExpressResponseLike, chunk: unknown, encoding?: unknown, callback?: unknown) => boolean;
type End = (this: ExpressResponseLike, chunk?: unknown, encoding?: unknown, callback?: unknown) => unknown;
type WriteHead = (this: ExpressResponseLike, ...args: unknown[]) => unknown;
export interface ExpressAppLike {
  /** The prototype Express gives every response of this app (and of no other app). */
  readonly response: { write: Write; end: End; writeHead: WriteHead };
}

/** A `writeHead`, `write` or `end` call held back while its response's session is saved. */
type HeldCall =
  | { readonly kind: 'head'; readonly args: unknown[] }
  | { readonly kind: 'write' | 'end'; readonly args: [unknown, unknown, unknown] };

const logger = new Logger('Session');

/**
 * `commit: 'on-send'` on Express: the first `writeHead`, `write` or `end` of a response whose
 * session has changes is held back until the save is done, so a new or rotated cookie still goes
 * out with it and the answer never claims a save that failed. `writeHead` too: middleware such as
 * `compression` (and a handler's own `res.writeHead()`) write the headers before the body.
 * Installed once on the app's own response prototype (Express's `res.send` and `res.json` end
 * there, and Node's implicit headers go through `writeHead`), so a request costs nothing extra: no
 * wrapper per response, and a read-only request passes each after two map lookups, allocating nothing.
 */
export function installExpressSendCommit(app: ExpressAppLike): void {
  const proto = app.response;
  const write = proto.write;
  const end = proto.end;
  const writeHead = proto.writeHead;
  /** Responses whose save is under way, and the calls they made meanwhile. */
  const saving = new WeakMap<ExpressResponseLike, HeldCall[]>();

  proto.writeHead = function (this: ExpressResponseLike, ...args: unknown[]): unknown {
    // The status it is about to send, not the one set so far: writeHead(403) must save nothing.
    if (!mustWait(this, typeof args[0] === 'number' ? args[0] : this.statusCode)) return writeHead.apply(this, args);
    hold(this, { kind: 'head', args });
    return this;
  };
  proto.write = function (this: ExpressResponseLike, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (!mustWait(this)) return write.call(this, chunk, encoding, callback);
    hold(this, { kind: 'write', args: [chunk, encoding, callback] });
    // false, as for a full buffer: a piped stream pauses until 'drain', emitted once the save is done.
    return false;
  };
  proto.end = function (this: ExpressResponseLike, chunk?: unknown, encoding?: unknown, callback?: unknown): unknown {
    if (!mustWait(this)) return end.call(this, chunk, encoding, callback);
    hold(this, { kind: 'end', args: [chunk, encoding, callback] });
    return this;
  };

  /** Whether `res` has a save to wait for: one under way, or changes not saved yet. Allocates nothing. */
  function mustWait(res: ExpressResponseLike, status = res.statusCode): boolean {
    return saving.has(res) || mustSaveBeforeSending(requestSession(res.req), status);
  }

  /** Queues `call` behind the save under way, or starts the save with it. */
  function hold(res: ExpressResponseLike, call: HeldCall): void {
    const pending = saving.get(res);
    if (pending) {
      pending.push(call);
      return;
    }
    const session = requestSession(res.req)!;
    const calls = [call];
    saving.set(res, calls);
    const response = responseWriter(res);
    commitSession(session, response)
      .then(
        () => release(res, calls),
        (error: unknown) => fail(res, calls, toHttpError(error, response)),
      )
      // Releasing or failing threw (a broken socket, an app error handler that throws): the held
      // response can never complete, so close it rather than leave the client waiting.
      .catch((error: unknown) => {
        saving.delete(res);
        logger.error(`A held response could not be completed after its session save; the connection was closed: ${String(error)}`);
        res.destroy();
      });
  }

  function release(res: ExpressResponseLike, calls: readonly HeldCall[]): void {
    saving.delete(res);
    let owesDrain = false;
    for (const call of calls) {
      // Node's own end() writes implicit headers first; a second writeHead would throw.
      if (call.kind === 'head') {
        if (!res.headersSent) writeHead.apply(res, call.args);
      } else if (call.kind === 'end') end.apply(res, call.args);
      else {
        write.apply(res, call.args);
        owesDrain = true;
      }
    }
    // Every held write told its caller to wait; if the socket has room, nothing else will say "go on".
    if (owesDrain && !res.writableNeedDrain) res.emit('drain');
  }

  function fail(res: ExpressResponseLike, calls: readonly HeldCall[], error: unknown): void {
    saving.delete(res);
    // Nothing was written yet: the error goes to Express's next error handler, which in a Nest app is
    // Nest's own (the app's global exception filters), and answers in place of the held response.
    // Not once headers were asked for: whoever asked (a compressing middleware, a handler's
    // writeHead) may have wrapped this response's end() and already be done with it, so an error
    // answer could hang, or go out under the success's encoding.
    const headersAskedFor = res.headersSent || calls.some((call) => call.kind === 'head');
    if (!headersAskedFor && typeof res.req.next === 'function') return res.req.next(error);
    // Too late to answer with the error, and a success must not go out for a save that failed.
    logger.error(`A session save failed after the response's headers were sent or asked for; the connection was closed: ${String(error)}`);
    res.destroy();
  }
}
