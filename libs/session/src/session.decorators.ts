import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ALLOW_ANONYMOUS } from './session.constants.js';
import { SessionUsageError } from './session.errors.js';
import { requestSession } from './request-session.js';
import { hostRequest } from './request-host.js';
import type { UserSession } from './user-session.js';
import { currentWsSession } from './ws/ws-message-session.js';

/** How a route treats requests without a valid session. */
export interface AllowAnonymousOptions {
  /**
   * The route keeps data for visitors in a guest session, stored on first write. Under a strategy
   * that cannot carry guest sessions (jwt) the route then needs a signed-in session instead.
   * @default false
   */
  guests?: boolean;
}

/**
 * The route runs without a session credential; `@Session()` then gives a new, empty session
 * (stored only if the handler writes to it or calls `logIn()`).
 * @example @AllowAnonymous() @Post('login') login(@Session() session: UserSession) {}
 */
export const AllowAnonymous = (options: AllowAnonymousOptions = {}) =>
  SetMetadata(ALLOW_ANONYMOUS, { guests: options.guests ?? false });

/** @internal The session SessionGuard loaded: on the HTTP request (routes, GraphQL), or for the gateway message. */
export function sessionFromContext(context: ExecutionContext): UserSession<object> | undefined {
  if (context.getType<string>() === 'ws') return currentWsSession();
  const request = hostRequest(context);
  return request ? requestSession(request) : undefined;
}

/**
 * Injects the request's `UserSession` (import it from this library, not `@nestjs/common`), or
 * with a key, that one value.
 * @example @Get('me') me(@Session() session: UserSession<MyData>) {}
 * @example @Get('cart') cart(@Session('cart') cart: MyData['cart'] | undefined) {}
 */
export const Session = createParamDecorator((key: string | undefined, context: ExecutionContext) => {
  const session = sessionFromContext(context);
  if (!session) {
    throw new SessionUsageError(
      '@Session() found no session: SessionGuard did not run for this route. ' +
        "Add @UseGuards(SessionGuard) to the controller, resolver or gateway, or set guard: 'global' in SessionModule options.",
    );
  }
  return key === undefined ? session : (session as UserSession<Record<string, unknown>>).get(key);
});
