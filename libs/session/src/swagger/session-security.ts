import type { INestApplicationContext } from '@nestjs/common';
import { GUARDS_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import type { ResolvedSessionOptions } from '../options/resolved-options.js';
import { ALLOW_ANONYMOUS } from '../session.constants.js';
import { SessionGuard } from '../session.guard.js';
import { SESSION_RESOLVED_OPTIONS } from '../session.internal-constants.js';

/** An OpenAPI security scheme object (assignable to @nestjs/swagger's `SecuritySchemeObject`). */
export interface SessionSecurityScheme {
  type: 'apiKey' | 'http';
  in?: 'cookie' | 'header';
  name?: string;
  scheme?: 'bearer';
  bearerFormat?: string;
  description: string;
  /** Specification extensions, as OpenAPI allows on every object. */
  [extension: `x-${string}`]: unknown;
}

/** What `applySessionSecurity` needs of a `DocumentBuilder` (the library does not import @nestjs/swagger). */
export interface SessionSecurityBuilder {
  addSecurity(name: string, scheme: SessionSecurityScheme): unknown;
}

/** The metadata key `@ApiSecurity()` of @nestjs/swagger writes and its explorer reads. */
const SWAGGER_API_SECURITY = 'swagger/apiSecurity';

/** Requirements this helper added to each handler, so a second call replaces instead of repeating them. */
const added = new WeakMap<object, object[]>();

/** The security schemes of the configured built-in strategies, by scheme name. Custom strategy classes are not described. */
export function sessionSecuritySchemes(options: ResolvedSessionOptions): Record<string, SessionSecurityScheme> {
  const schemes: Record<string, SessionSecurityScheme> = {};
  for (const strategy of options.strategies) {
    if (strategy === 'jwt') {
      if (options.jwt?.transport === 'cookie' && options.cookie) schemes['session-cookie'] = cookieScheme(options.cookie.name);
      else schemes['session-jwt'] = { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Session JWT (`sub` = user, `sid` = session), from the login response' };
    } else if (typeof strategy === 'string') {
      if (options.cookie) schemes['session-cookie'] = cookieScheme(options.cookie.name);
      if (options.header === 'authorization') schemes['session-bearer'] = { type: 'http', scheme: 'bearer', description: `Opaque ${strategy} session token` };
      else if (options.header) schemes['session-header'] = { type: 'apiKey', in: 'header', name: options.header, description: `${strategy} session token` };
    }
  }
  return schemes;
}

const cookieScheme = (name: string): SessionSecurityScheme => ({
  type: 'apiKey',
  in: 'cookie',
  name,
  description: 'Session cookie, set by the server (HttpOnly): a browser sends it by itself',
});

/**
 * Declares the session's security schemes on a swagger `DocumentBuilder` and marks every route
 * SessionGuard protects: routes that need a session require one of the schemes; `@AllowAnonymous()`
 * routes list them as optional (`{}` among the requirements); routes without the guard are left
 * alone. Call it after `app.init()` (or `NestFactory.create`) and before `SwaggerModule.createDocument`.
 * @example
 * const config = applySessionSecurity(new DocumentBuilder().setTitle('API'), app).build();
 * SwaggerModule.setup('docs', app, SwaggerModule.createDocument(app, config));
 */
export function applySessionSecurity<B extends SessionSecurityBuilder>(builder: B, app: INestApplicationContext): B {
  const options = app.get<ResolvedSessionOptions>(SESSION_RESOLVED_OPTIONS, { strict: false });
  const schemes = sessionSecuritySchemes(options);
  for (const [name, scheme] of Object.entries(schemes)) builder.addSecurity(name, scheme);
  const required = Object.keys(schemes).map((name) => ({ [name]: [] as string[] }));
  if (required.length === 0) return builder;
  for (const { controller, handler } of routeHandlers(app)) {
    if (!(options.guard === 'global' || hasSessionGuard(handler) || hasSessionGuard(controller))) continue;
    const anonymous = Reflect.getMetadata(ALLOW_ANONYMOUS, handler) ?? Reflect.getMetadata(ALLOW_ANONYMOUS, controller);
    setRequirements(handler, anonymous ? [...required, {}] : required);
  }
  return builder;
}

function* routeHandlers(app: INestApplicationContext): Generator<{ controller: object; handler: object }> {
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new () => unknown) | null;
      if (typeof controller !== 'function') continue;
      const prototype = controller.prototype as Record<string, unknown>;
      // ('constructor' is the controller class itself, which carries the controller's path.)
      for (const name of Object.getOwnPropertyNames(prototype).filter((n) => n !== 'constructor')) {
        const handler = Object.getOwnPropertyDescriptor(prototype, name)?.value as object | undefined;
        if (typeof handler === 'function' && Reflect.getMetadata(PATH_METADATA, handler) !== undefined) yield { controller, handler };
      }
    }
  }
}

function hasSessionGuard(target: object): boolean {
  const guards = (Reflect.getMetadata(GUARDS_METADATA, target) ?? []) as unknown[];
  return guards.some(
    (guard) =>
      guard === SessionGuard ||
      guard instanceof SessionGuard ||
      (typeof guard === 'function' && guard.prototype instanceof SessionGuard),
  );
}

function setRequirements(handler: object, requirements: object[]): void {
  const previous = added.get(handler) ?? [];
  const existing = ((Reflect.getMetadata(SWAGGER_API_SECURITY, handler) ?? []) as object[]).filter((r) => !previous.includes(r));
  Reflect.defineMetadata(SWAGGER_API_SECURITY, [...existing, ...requirements], handler);
  added.set(handler, requirements);
}
