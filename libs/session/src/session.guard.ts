import {
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { responseWriter, type SessionRequest } from './http/http-message.js';
import { ALLOW_ANONYMOUS } from './session.constants.js';
import type { AllowAnonymousOptions } from './session.decorators.js';
import { SESSION_SLOT } from './session.internal-constants.js';
import { toHttpError } from './session-http-errors.js';
import { SessionLoader } from './session-loader.js';
import type { UserSession } from './user-session.js';

type GuardedRequest = SessionRequest & Record<string | symbol, unknown>;

/**
 * Loads the request's session into the request context. Routes need a live session unless marked
 * `@AllowAnonymous()`. A missing, expired, revoked or forged credential is a 401; a store that
 * cannot answer is a 503, never an anonymous request.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(
    private readonly loader: SessionLoader,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<GuardedRequest>();
    if (request[SESSION_SLOT]) return true;
    const response = responseWriter(context.switchToHttp().getResponse());
    const anonymous = this.reflector.getAllAndOverride<Required<AllowAnonymousOptions> | undefined>(
      ALLOW_ANONYMOUS,
      [context.getHandler(), context.getClass()],
    );

    let outcome;
    try {
      outcome = await this.loader.load(request);
    } catch (error) {
      throw toHttpError(error, response);
    }

    if (outcome.kind === 'loaded') return attach(request, outcome.session);
    // A credential that names no live session is cleared, so the client stops sending it.
    if (outcome.kind === 'rejected') outcome.strategy.clear(response);
    const guestsImpossible = anonymous?.guests && !this.loader.issuer.supportsGuests;
    if (!anonymous || guestsImpossible) {
      throw new UnauthorizedException(
        outcome.kind === 'rejected' ? outcome.reason : 'Authentication required: no session credential',
      );
    }
    return attach(request, this.loader.fresh(request));
  }
}

function attach(request: GuardedRequest, session: UserSession<object>): true {
  request[SESSION_SLOT] = session;
  // @nestjs/common's own @Session() reads req.session: make that import work too, not return undefined.
  if (request.session === undefined) request.session = session;
  return true;
}
