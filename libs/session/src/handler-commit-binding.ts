import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { boundByLibrary, gatewaysAndResolvers, savedByAppInterceptor } from './http/unsaved-handlers.js';
import type { ResolvedSessionOptions } from './options/resolved-options.js';
import { SessionCommitInterceptor } from './session.interceptor.js';
import { SESSION_RESOLVED_OPTIONS } from './session.internal-constants.js';

/**
 * `commit: 'auto'`: HTTP routes are saved on send, and SessionCommitInterceptor is bound to the
 * app's WebSocket gateways and GraphQL resolvers alone, as `@UseInterceptors()` on each class would,
 * instead of registered globally: a global interceptor makes Nest run every HTTP handler of the app
 * through its rxjs chain too, which costs a cached read more than the session layer itself.
 *
 * Bound while Nest builds the providers: it reads a gateway's interceptors when it connects the
 * gateway (in `app.init()`) and a resolver's when @nestjs/graphql explores the resolvers (in its
 * `onModuleInit`), both later, and keeps what it read. Unbound when the module is destroyed. Apps
 * of one process (tests often run several) each bind their own instance beside the others': a
 * class that two live apps share runs both, which commits once (the second finds nothing to save).
 */
@Injectable()
export class HandlerCommitBinding implements OnModuleDestroy {
  private readonly bound = new Set<Function>();

  constructor(
    @Inject(SESSION_RESOLVED_OPTIONS) options: ResolvedSessionOptions,
    modules: ModulesContainer,
    private readonly interceptor: SessionCommitInterceptor,
  ) {
    if (!options.bindCommitToHandlers) return;
    boundByLibrary.add(interceptor);
    for (const type of gatewaysAndResolvers(modules)) {
      // The app bound it itself: its place in the app's order stays.
      if (savedByAppInterceptor(type)) continue;
      const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, type) ?? []) as unknown[];
      // First among the class's interceptors: the app's own ones run inside it, so what they
      // change in the session after the handler is still saved.
      Reflect.defineMetadata(INTERCEPTORS_METADATA, [interceptor, ...interceptors], type);
      this.bound.add(type);
    }
  }

  /** Whether SessionCommitInterceptor runs on `handler` of `type` in this app: bound here, or by the app itself. */
  covers(type: Function, handler?: Function): boolean {
    return this.bound.has(type) || savedByAppInterceptor(type) || (handler !== undefined && savedByAppInterceptor(handler));
  }

  onModuleDestroy(): void {
    for (const type of this.bound) {
      const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, type) ?? []) as unknown[];
      Reflect.defineMetadata(
        INTERCEPTORS_METADATA,
        interceptors.filter((existing) => existing !== this.interceptor),
        type,
      );
    }
    this.bound.clear();
  }
}
