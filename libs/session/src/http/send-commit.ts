import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { SessionConfigError } from '../session.errors.js';
import { installExpressSendCommit, type ExpressAppLike } from './express-send-commit.js';
import { installFastifySendCommit, type FastifyLike } from './fastify-send-commit.js';

/**
 * `commit: 'on-send'`: saves each request's session changes as its response is about to be written
 * (Fastify's `onSend` hook; on Express, the first `write` or `end` of the response), instead of
 * from a global interceptor around every handler.
 */
@Injectable()
export class SendCommit implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** After Nest registered the routes and before the app listens. */
  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    // An application context without HTTP (a script, a worker using SessionService): no requests to save.
    if (!adapter) return;
    const platform = adapter.getType();
    if (platform === 'fastify') return installFastifySendCommit(adapter.getInstance<FastifyLike>());
    if (platform === 'express') return installExpressSendCommit(adapter.getInstance<ExpressAppLike>());
    throw new SessionConfigError([
      `commit: 'on-send' hooks into Express's or Fastify's response, but this app runs on ${platform}: ` +
        `use commit: 'interceptor' (the default)`,
    ]);
  }
}
