import { ForbiddenException, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { crossOriginRefusal } from '../http/cross-origin.check.js';
import { responseWriter, type ResponseWriter, type SessionRequest } from '../http/http-message.js';
import { SessionUsageError } from '../session.errors.js';
import { toHttpError } from '../session-http-errors.js';
import { attachRequestSession, requestSession } from '../request-session.js';
import { SessionLoader } from '../session-loader.js';
import type { UserSession } from '../user-session.js';
import { passportSessionView, type PassportSessionView } from './express-session-view.js';

type PassportRequest = SessionRequest & Record<string | symbol, unknown> & { session?: unknown };

const VIEW = Symbol('nestjs-redis-session:passport-view');
const ID_FIELDS = ['id', 'userId', 'username', 'sub'] as const;

/**
 * For apps that follow the Nest docs' session chapter with @nestjs/passport (passport-local, a
 * `PassportSerializer`, `req.logIn` in the login guard, `req.isAuthenticated()`): register it as an
 * app-wide guard instead of `express-session`, `passport.initialize()` and `passport.session()`.
 * For every HTTP request it loads our session (a guest one when there is none), puts an
 * express-session shaped view of it on `req.session`, and runs passport's session strategy, so
 * `req.user` is deserialized as before. It refuses only unsafe cross-origin requests (the CSRF
 * check of SessionGuard, a 403); otherwise the app's own guards decide.
 * `req.logIn` then stores the serialized user in our session and rotates its id; `req.logout`
 * destroys it. Express only (passport needs Express's request and response).
 * @example providers: [{ provide: APP_GUARD, useClass: SessionPassportGuard }]
 */
@Injectable()
export class SessionPassportGuard implements CanActivate {
  constructor(private readonly loader: SessionLoader) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const request = http.getRequest<PassportRequest>();
    const response = http.getResponse<unknown>();
    if (request[VIEW]) return true;
    // The same CSRF check as SessionGuard: passport apps are cookie apps.
    const refusal = this.loader.options.csrf && crossOriginRefusal(request, this.loader.options.csrf);
    if (refusal) throw new ForbiddenException(refusal);
    const session = await this.sessionFor(request, responseWriter(response));
    const view = passportSessionView(session as UserSession<Record<string, unknown>>, (user) => this.userIdOf(user));
    request[VIEW] = view;
    request.session = view;
    await runPassportSession(request, response);
    await view.sync();
    return true;
  }

  /**
   * The session's user id for what your `PassportSerializer.serializeUser` stored: a string or a
   * number as is, or the `id`, `userId`, `username` or `sub` of an object. Override for other shapes.
   */
  protected userIdOf(serialized: unknown): string {
    if (typeof serialized === 'string') return serialized;
    if (typeof serialized === 'number' && Number.isFinite(serialized)) return String(serialized);
    if (typeof serialized === 'object' && serialized !== null) {
      for (const field of ID_FIELDS) {
        const value = (serialized as Record<string, unknown>)[field];
        if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return String(value);
      }
    }
    throw new SessionUsageError(
      'SessionPassportGuard cannot tell the user id from what your PassportSerializer stores ' +
        '(a string, a number, or an object with id, userId, username or sub). Extend the guard and override userIdOf().',
    );
  }

  private async sessionFor(request: PassportRequest, response: ResponseWriter): Promise<UserSession<object>> {
    const attached = requestSession(request);
    if (attached) return attached;
    let outcome;
    try {
      outcome = await this.loader.load(request);
    } catch (error) {
      throw toHttpError(error, response);
    }
    if (outcome.kind === 'rejected') outcome.strategy.clear(response);
    const session = outcome.kind === 'loaded' ? outcome.session : this.loader.fresh(request);
    return attachRequestSession(request, session);
  }
}

/** passport.authenticate('session'): deserializes `req.user` and installs `req.logIn` / `req.logout`. */
async function runPassportSession(request: PassportRequest, response: unknown): Promise<void> {
  // Imported here so that only apps using this guard need passport installed.
  const { default: passport } = await import('passport');
  await new Promise<void>((resolve, reject) => {
    const middleware = passport.authenticate('session') as (req: unknown, res: unknown, next: (error?: unknown) => void) => void;
    middleware(request, response, (error?: unknown) => (error ? reject(error) : resolve()));
  });
}

export type { PassportSessionView };
