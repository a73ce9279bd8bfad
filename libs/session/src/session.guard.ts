import {
  ForbiddenException,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { Reflector } from '@nestjs/core';
import { HandlerCommitBinding } from './handler-commit-binding.js';
import { crossOriginRefusal } from './http/cross-origin.check.js';
import type { ResponseWriter, SessionRequest } from './http/http-message.js';
import { isPromise, type MaybePromise } from './maybe-promise.js';
import { ALLOW_ANONYMOUS } from './session.constants.js';
import type { AllowAnonymousOptions } from './session.decorators.js';
import { attachRequestSession, requestSession } from './request-session.js';
import { toHttpError } from './session-http-errors.js';
import { SessionUsageError } from './session.errors.js';
import { SessionLoader, type LoadOutcome } from './session-loader.js';
import { requestHost, requireHostRequest, type RequestHost } from './request-host.js';
import type { UserSession } from './user-session.js';
import { activateWsMessage } from './ws/ws-message-session.js';

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
    private readonly commitBinding: HandlerCommitBinding,
  ) {}

  /**
   * `true` at once when the session is known without waiting (a near-cache hit), which spares Nest
   * a promise and its awaits per request; otherwise a promise. Refusals always come as a rejected
   * promise, never a synchronous throw, as callers of an async guard expect.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    try {
      return this.activate(context);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private activate(context: ExecutionContext): boolean | Promise<boolean> {
    const handler = context.getHandler();
    const route = this.routeFacts(handler, context.getClass());
    const type = context.getType<string>();
    if ((type === 'ws' || type === 'graphql') && this.loader.options.commit === 'on-send' && !this.commitBinding.covers(context.getClass(), handler)) {
      throw new SessionUsageError(onSendRefusal(type));
    }
    if (type === 'ws') return activateWsMessage(context, this.loader, route.anonymous !== undefined);
    const request = requireHostRequest(context) as GuardedRequest | null;
    if (!request) return true;
    const attached = requestSession(request);
    // Loaded earlier for this request (global and route guard, or another resolver of the same
    // GraphQL request). A guest session attached for an @AllowAnonymous resolver does not open the others.
    if (attached && !attached.isNew) return attach(request, attached, route);
    // CSRF: before any store call, so a forged request costs nothing and changes nothing.
    const refusal = this.loader.options.csrf && crossOriginRefusal(request, this.loader.options.csrf);
    if (refusal) throw new ForbiddenException(refusal);

    let outcome: MaybePromise<LoadOutcome>;
    try {
      // A GraphQL query's root resolvers start together; an HTTP route's guards run one after another.
      outcome = type === 'graphql' ? loadOnce(this.loader, request) : this.loader.load(request);
    } catch (error) {
      throw toHttpError(error, responseOf(context));
    }
    if (!isPromise(outcome)) return this.admit(outcome, request, context, attached, route);
    return outcome.then(
      (settled) => this.admit(settled, request, context, attached, route),
      (error: unknown) => {
        throw toHttpError(error, responseOf(context));
      },
    );
  }

  /** Attaches the loaded session, or a guest one where the route allows it; else a 401. */
  private admit(outcome: LoadOutcome, request: GuardedRequest, context: ExecutionContext, attached: UserSession<object> | undefined, route: RouteFacts): true {
    if (outcome.kind === 'loaded') return attach(request, outcome.session, route);
    // A credential that names no live session is cleared, so the client stops sending it (where
    // there is a response to say so on: a GraphQL context without one still gets its 401).
    if (outcome.kind === 'rejected' && !attached) {
      const response = responseOf(context);
      if (response.headersWritable) outcome.strategy.clear(response);
    }
    const anonymous = route.anonymous;
    const guestsImpossible = anonymous?.guests && !this.loader.issuer.supportsGuests;
    if (!anonymous || guestsImpossible) {
      throw new UnauthorizedException(
        outcome.kind === 'rejected' ? outcome.reason : 'Authentication required: no session credential',
      );
    }
    return attach(request, attached ?? this.loader.fresh(request), route);
  }

  /** What the route's decorators say, read once per handler: metadata does not change at run time. */
  private routeFacts(handler: Function, controller: Function): RouteFacts {
    let perClass = routeFactsCache.get(handler);
    if (!perClass) routeFactsCache.set(handler, (perClass = new WeakMap()));
    let facts = perClass.get(controller);
    if (!facts) {
      facts = {
        anonymous: this.reflector.getAllAndOverride<Required<AllowAnonymousOptions> | undefined>(ALLOW_ANONYMOUS, [handler, controller]),
        readsRequestSession: usesNestSessionDecorator(handler, controller),
      };
      perClass.set(controller, facts);
    }
    return facts;
  }
}

/** Only HTTP responses are hooked: anything else would load a session it never saves. */
const onSendRefusal = (type: string): string =>
  `SessionGuard ran for a ${type === 'ws' ? 'gateway message' : 'GraphQL resolver'} that SessionCommitInterceptor does not run on, ` +
  `and the module saves the HTTP routes' sessions on send (hooked into the HTTP response): put ` +
  `@UseInterceptors(SessionCommitInterceptor) on its class, or use commit: 'interceptor' ('auto', the default, binds the ` +
  `interceptor to the gateways and resolvers that are providers of the app's modules at startup, not to ones loaded later)`;

interface RouteFacts {
  readonly anonymous: Required<AllowAnonymousOptions> | undefined;
  /** The handler takes @nestjs/common's @Session(), which reads `req.session`. */
  readonly readsRequestSession: boolean;
}

/** Handler -> controller class -> facts (a method inherited by several controllers has one handler). */
const routeFactsCache = new WeakMap<Function, WeakMap<Function, RouteFacts>>();

function usesNestSessionDecorator(handler: Function, controller: Function): boolean {
  const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) as Record<string, unknown> | undefined;
  return Object.keys(args ?? {}).some((key) => key.split(':')[0] === String(RouteParamtypes.SESSION));
}

/**
 * One load per request, shared by guards that run at the same time: a GraphQL query's root
 * resolvers start together and must all see the same UserSession.
 */
const loads = new WeakMap<object, MaybePromise<LoadOutcome>>();
function loadOnce(loader: SessionLoader, request: GuardedRequest): MaybePromise<LoadOutcome> {
  let load = loads.get(request);
  if (!load) {
    load = loader.load(request);
    loads.set(request, load);
  }
  return load;
}

/** The response, only to clear a credential or report an error: a read that does neither builds no writer. */
const responseOf = (context: ExecutionContext): ResponseWriter => (requestHost(context) as RequestHost).response;

function attach(request: GuardedRequest, session: UserSession<object>, route: RouteFacts): true {
  // The first session attached to a request stays: later resolvers of one GraphQL request share it.
  const kept = attachRequestSession(request, session);
  // @nestjs/common's own @Session() reads req.session: make that import work too, not return
  // undefined. Only on routes that use it: a new property on an Express request costs about 1.3 µs.
  if (route.readsRequestSession && request.session === undefined) request.session = kept;
  return true;
}
