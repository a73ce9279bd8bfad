import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { boundByLibrary, gatewaysAndResolvers, resolverInstanceClasses, savedByAppInterceptor } from './http/unsaved-handlers.js';
import type { ResolvedSessionOptions } from './options/resolved-options.js';
import { SessionConfigError } from './session.errors.js';
import { SessionCommitInterceptor } from './session.interceptor.js';
import { SESSION_RESOLVED_OPTIONS } from './session.internal-constants.js';

/** A class's own interceptor list before the binding, and the list the binding gave it. */
interface Binding {
  readonly before: unknown[] | undefined;
  readonly bound: unknown[];
}

/**
 * `commit: 'auto'`: HTTP routes are saved on send, and SessionCommitInterceptor is bound to the
 * app's WebSocket gateways and GraphQL resolvers alone, as `@UseInterceptors()` on each class would,
 * instead of registered globally: a global interceptor makes Nest run every HTTP handler of the app
 * through its rxjs chain too, which costs a cached read more than the session layer itself.
 *
 * Bound while Nest builds the providers: it reads a gateway's interceptors when it connects the
 * gateway (in `app.init()`) and a resolver's when @nestjs/graphql explores the resolvers (in its
 * `onModuleInit`), both later; request-scoped ones on every call. So the binding stays until the
 * servers are closed (`onApplicationShutdown`): a message or a query still served while the app
 * shuts down is saved as before. Apps of one process (tests often run several) each bind their
 * own instance beside the others': a class that two live apps share runs both, which commits once
 * (the second finds nothing to save).
 */
@Injectable()
export class HandlerCommitBinding implements OnApplicationBootstrap, OnApplicationShutdown {
  /** Fixed at startup: what SessionGuard accepts does not change while the app shuts down. */
  private readonly covered = new Set<Function>();
  private readonly bindings = new Map<Function, Binding>();

  constructor(
    @Inject(SESSION_RESOLVED_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly modules: ModulesContainer,
    private readonly interceptor: SessionCommitInterceptor,
  ) {
    if (!options.bindCommitToHandlers) return;
    boundByLibrary.add(interceptor);
    // Resolvers given as a value (`useValue`, a test's overrideProvider) are known by their instance.
    for (const type of new Set([...gatewaysAndResolvers(modules), ...resolverInstanceClasses(modules)])) this.bind(type);
  }

  /** Whether SessionCommitInterceptor runs on `handler` of `type` in this app: bound here, or by the app itself. */
  covers(type: Function, handler?: Function): boolean {
    return this.covered.has(type) || savedByAppInterceptor(type) || (handler !== undefined && savedByAppInterceptor(handler));
  }

  /**
   * A resolver made by a factory exists only once Nest has built it, which may be after this
   * binding: @nestjs/graphql has explored it without the interceptor by now, so its sessions would
   * never be saved. Refused here, at startup, rather than on each of its requests.
   */
  onApplicationBootstrap(): void {
    if (!this.options.bindCommitToHandlers) return;
    const unbound = resolverInstanceClasses(this.modules).filter((type) => !this.covers(type));
    if (unbound.length === 0) return;
    throw new SessionConfigError([
      `commit: 'auto' could not bind SessionCommitInterceptor to the GraphQL resolver(s) ${unbound.map((type) => type.name).join(', ')}, ` +
        `made by a factory after it bound the others: put @UseInterceptors(SessionCommitInterceptor) on those classes, or use commit: 'interceptor'`,
    ]);
  }

  onApplicationShutdown(): void {
    for (const [type, binding] of this.bindings) {
      const now = Reflect.getOwnMetadata(INTERCEPTORS_METADATA, type) as unknown[] | undefined;
      if (now === binding.bound) {
        // Untouched since: as it was before.
        if (binding.before === undefined) Reflect.deleteMetadata(INTERCEPTORS_METADATA, type);
        else Reflect.defineMetadata(INTERCEPTORS_METADATA, binding.before, type);
      } else if (now) {
        // Another app bound its own since: only this app's instance goes.
        Reflect.defineMetadata(INTERCEPTORS_METADATA, now.filter((existing) => existing !== this.interceptor), type);
      }
    }
    this.bindings.clear();
  }

  private bind(type: Function): void {
    this.covered.add(type);
    // The app bound it itself: its place in the app's order stays.
    if (savedByAppInterceptor(type)) return;
    // A subclass inherits its parent's list, which may hold this very binding already.
    const inherited = ((Reflect.getMetadata(INTERCEPTORS_METADATA, type) ?? []) as unknown[]).filter((existing) => existing !== this.interceptor);
    // First among the class's interceptors: the app's own ones run inside it, so what they
    // change in the session after the handler is still saved.
    const bound = [this.interceptor, ...inherited];
    this.bindings.set(type, { before: Reflect.getOwnMetadata(INTERCEPTORS_METADATA, type) as unknown[] | undefined, bound });
    Reflect.defineMetadata(INTERCEPTORS_METADATA, bound, type);
  }
}
