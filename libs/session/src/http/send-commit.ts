import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import type { ResolvedSessionOptions } from '../options/resolved-options.js';
import { SESSION_RESOLVED_OPTIONS } from '../session.internal-constants.js';
import { SessionConfigError } from '../session.errors.js';
import { installExpressSendCommit, type ExpressAppLike } from './express-send-commit.js';
import { installFastifySendCommit, type FastifyLike } from './fastify-send-commit.js';
import { HandlerCommitBinding } from '../handler-commit-binding.js';
import { gatewaysAndResolvers } from './unsaved-handlers.js';

/**
 * `commit: 'on-send'`: saves each request's session changes as its response is about to be written
 * (Fastify's `onSend` hook; on Express, the first `writeHead`, `write` or `end` of the response),
 * instead of from a global interceptor around every handler.
 */
@Injectable()
export class SendCommit implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(SESSION_RESOLVED_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly modules: ModulesContainer,
    private readonly binding: HandlerCommitBinding,
  ) {}

  /** After Nest registered the routes and before the app listens. */
  onModuleInit(): void {
    if (this.options.commit !== 'on-send') return;
    // With the global guard every gateway message and resolver that SessionCommitInterceptor does
    // not run on would load a session and be refused on each request (SessionGuard); say so once,
    // at startup. A route-scoped guard is checked per use. Under 'auto' the interceptor is bound to
    // all of them (HandlerCommitBinding, built before this runs).
    const unsaved = this.options.guard === 'global' ? gatewaysAndResolvers(this.modules).filter((type) => !this.binding.covers(type)) : [];
    if (unsaved.length) {
      throw new SessionConfigError([
        `commit: 'on-send' saves HTTP responses only, but guard: 'global' would load sessions for ${unsaved.map((type) => type.name).join(', ')} too: ` +
          `use commit: 'auto' (the default, which binds SessionCommitInterceptor to the app's gateways and resolvers) or 'interceptor', ` +
          `put @UseInterceptors(SessionCommitInterceptor) on those classes, or use guard: 'manual' with @UseGuards(SessionGuard) on the HTTP routes`,
      ]);
    }
    const adapter = this.adapterHost.httpAdapter;
    // An application context without HTTP (a script, a worker using SessionService): no requests to save.
    if (!adapter) return;
    const platform = adapter.getType();
    if (platform === 'fastify') return installFastifySendCommit(adapter.getInstance<FastifyLike>());
    if (platform === 'express') return installExpressSendCommit(adapter.getInstance<ExpressAppLike>());
    throw new SessionConfigError([
      `commit: 'on-send' (which commit: 'auto', the default, uses for HTTP routes) ` +
        `hooks into Express's or Fastify's response, but this app runs on ${platform}: use commit: 'interceptor'`,
    ]);
  }
}
