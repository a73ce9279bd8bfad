/**
 * The benchmark's routes, once per session stack, with the same work otherwise:
 *   POST /login {user}        (setup only, not measured) starts a signed-in session
 *   GET  /me                  read path: who is signed in
 *   PUT  /cart/:sku {qty,...} write path: one cart item (one session key) set to the body
 * Unauthenticated requests get 401 on /me and /cart in every stack except `bare`.
 */
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Injectable,
  Param,
  Post,
  Put,
  Req,
  UnauthorizedException,
  createParamDecorator,
  type CallHandler,
  type CanActivate,
  type NestInterceptor,
} from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import { AllowAnonymous, Session, type UserSession } from '../../libs/session/src/index.js';

type CartItem = Record<string, unknown>;
type OursData = Record<string, unknown>;

/**
 * bench/write-timing.ts only: answer GET /me one event-loop turn later (setImmediate), to measure
 * what the moment of the response write alone costs on loopback.
 */
const DEFER_RESPONSE = process.env.BENCH_DEFER_RESPONSE === '1';

/** No sessions at all: the ceiling. */
@Controller()
export class BareController {
  @Post('login')
  @HttpCode(200)
  login(@Body() body: { user: string }) {
    return { userId: body.user };
  }

  @Get('me')
  me() {
    if (DEFER_RESPONSE) return new Promise((resolve) => setImmediate(() => resolve({ userId: 'bench' })));
    return { userId: 'bench' };
  }

  @Put('cart/:sku')
  put(@Param('sku') sku: string, @Body() _body: CartItem) {
    return { sku };
  }
}

/**
 * The floor for any session layer built the Nest way (a global guard that loads, an interceptor
 * that saves): both present and doing nothing, around the bare routes.
 */
@Injectable()
export class NoopAsyncGuard implements CanActivate {
  async canActivate(): Promise<boolean> {
    return true;
  }
}

/** The same, answering at once as SessionGuard does on a near-cache hit: Nest then skips one await. */
@Injectable()
export class NoopSyncGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Injectable()
export class PassThroughInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

/** What the floor's parameter hands the handler: a constant, so the parameter does no work of its own. */
const FLOOR_SESSION = Object.freeze({ userId: 'bench' });
const FloorSession = createParamDecorator((): { readonly userId: string } => FLOOR_SESSION);

/**
 * The floor for a session layer of this library's shape with `commit: 'on-send'`: the routes take a
 * custom parameter (as `@Session()`) behind a global guard that answers `true` at once (as
 * SessionGuard on a near-cache hit), and no interceptor. Neither does any work, so this is what Nest
 * charges for the shape alone; the load sends it a cookie like ours (readCredentials in
 * bench/lib/read-path-apps.ts).
 */
@Controller()
export class SessionShapeFloorController {
  @Get('me')
  me(@FloorSession() session: { readonly userId: string }) {
    return { userId: session.userId };
  }

  @Put('cart/:sku')
  put(@Param('sku') sku: string, @Body() _body: CartItem, @FloorSession() _session: { readonly userId: string }) {
    return { sku };
  }
}

/** This library (the guard is global: /me and /cart need a session). */
@Controller()
export class OursController {
  @AllowAnonymous()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { user: string }, @Session() session: UserSession<OursData>) {
    await session.logIn(body.user);
    return { userId: body.user, token: session.token };
  }

  @Get('me')
  me(@Session() session: UserSession<OursData>) {
    return { userId: session.userId };
  }

  @Put('cart/:sku')
  put(@Param('sku') sku: string, @Body() body: CartItem, @Session() session: UserSession<OursData>) {
    session.set(`cart:${sku}`, body);
    return { sku };
  }
}

/**
 * A WebSocket gateway beside the HTTP routes (BENCH_GATEWAY=1), as an app with live notifications
 * has: with commit unset ('auto') the HTTP routes are still saved on send, and only the gateway's
 * messages run through SessionCommitInterceptor. Never sent a message in the benchmark.
 */
@WebSocketGateway()
export class BenchGateway {
  @SubscribeMessage('whoami')
  whoami(@Session() session: UserSession<OursData>) {
    return { userId: session.userId };
  }
}

interface ExpressSessionLike {
  userId?: string;
  cart?: Record<string, CartItem>;
}

/** express-session: `req.session` is a plain object saved whole when it changed. */
@Controller()
export class ExpressSessionController {
  @Post('login')
  @HttpCode(200)
  login(@Body() body: { user: string }, @Req() req: { session: ExpressSessionLike }) {
    req.session.userId = body.user;
    return { userId: body.user };
  }

  @Get('me')
  me(@Req() req: { session: ExpressSessionLike }) {
    if (!req.session.userId) throw new UnauthorizedException();
    return { userId: req.session.userId };
  }

  @Put('cart/:sku')
  put(@Param('sku') sku: string, @Body() body: CartItem, @Req() req: { session: ExpressSessionLike }) {
    if (!req.session.userId) throw new UnauthorizedException();
    (req.session.cart ??= {})[sku] = body;
    return { sku };
  }
}

interface FastifySessionLike {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

/** @fastify/session: `request.session.get/set`. */
@Controller()
export class FastifySessionController {
  @Post('login')
  @HttpCode(200)
  login(@Body() body: { user: string }, @Req() req: { session: FastifySessionLike }) {
    req.session.set('userId', body.user);
    return { userId: body.user };
  }

  @Get('me')
  me(@Req() req: { session: FastifySessionLike }) {
    const userId = req.session.get('userId');
    if (!userId) throw new UnauthorizedException();
    return { userId };
  }

  @Put('cart/:sku')
  put(@Param('sku') sku: string, @Body() body: CartItem, @Req() req: { session: FastifySessionLike }) {
    if (!req.session.get('userId')) throw new UnauthorizedException();
    const cart = { ...((req.session.get('cart') as Record<string, CartItem> | undefined) ?? {}), [sku]: body };
    req.session.set('cart', cart);
    return { sku };
  }
}
