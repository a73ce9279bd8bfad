import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { boundByLibrary, gatewaysAndResolvers, isLibraryInstance, resolverInstanceClasses, savedByAppInterceptor } from './http/unsaved-handlers.js';
import type { ResolvedSessionOptions } from './options/resolved-options.js';
import { SessionCommitInterceptor } from './session.interceptor.js';
import { SESSION_RESOLVED_OPTIONS } from './session.internal-constants.js';

/**
 * A class bound by one or more live apps of the process: its own interceptor list from before the
 * first of them, and their interceptors, newest last. The class's metadata holds exactly one of
 * them at a time (the interceptor keeps no state, so any app's instance serves every app).
 */
interface ClassBinding {
  readonly original: unknown[] | undefined;
  readonly binders: SessionCommitInterceptor[];
}
const bindings = new Map<Function, ClassBinding>();

const withoutLibraryInstances = (interceptors: unknown[]): unknown[] => interceptors.filter((interceptor) => !isLibraryInstance(interceptor));

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
 * shuts down is saved as before. Apps of one process (tests often run several) share the
 * binding of a class; its own metadata comes back when the last of them closes.
 */
@Injectable()
export class HandlerCommitBinding implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Session');
  /** Fixed at startup: what SessionGuard accepts does not change while the app shuts down. */
  private readonly covered = new Set<Function>();

  constructor(
    @Inject(SESSION_RESOLVED_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly modules: ModulesContainer,
    private readonly interceptor: SessionCommitInterceptor,
  ) {
    // Constructed, not in onModuleInit: gateways are connected before any init hook runs.
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
   * A resolver made by a factory exists only once Nest has built it, which may be after the
   * binding. If GraphQL explores it, SessionGuard refuses each of its resolvers that it guards, as
   * the interceptor would not save them; said once here, where the operator looks first. Not an
   * error: the app may never guard it, or never explore it.
   */
  onModuleInit(): void {
    if (!this.options.bindCommitToHandlers) return;
    const unbound = resolverInstanceClasses(this.modules).filter((type) => !this.covers(type) && !boundOnAnyMethod(type));
    if (unbound.length === 0) return;
    this.logger.warn(
      `commit: 'auto' could not bind SessionCommitInterceptor to the GraphQL resolver(s) ${unbound.map((type) => type.name).join(', ')}, ` +
        `made by a factory after it bound the others: SessionGuard refuses their resolvers. Put @UseInterceptors(SessionCommitInterceptor) ` +
        `on those classes, or use commit: 'interceptor'`,
    );
  }

  onApplicationShutdown(): void {
    for (const type of this.covered) {
      const binding = bindings.get(type);
      const at = binding?.binders.indexOf(this.interceptor) ?? -1;
      if (!binding || at < 0) continue;
      binding.binders.splice(at, 1);
      const own = (Reflect.getOwnMetadata(INTERCEPTORS_METADATA, type) ?? []) as unknown[];
      const newest = binding.binders.at(-1);
      if (newest) {
        Reflect.defineMetadata(INTERCEPTORS_METADATA, [newest, ...withoutLibraryInstances(own)], type);
        continue;
      }
      bindings.delete(type);
      if (binding.original === undefined) Reflect.deleteMetadata(INTERCEPTORS_METADATA, type);
      else Reflect.defineMetadata(INTERCEPTORS_METADATA, binding.original, type);
    }
  }

  private bind(type: Function): void {
    this.covered.add(type);
    // The app bound it itself: its place in the app's order stays.
    if (savedByAppInterceptor(type)) return;
    let binding = bindings.get(type);
    if (!binding) bindings.set(type, (binding = { original: Reflect.getOwnMetadata(INTERCEPTORS_METADATA, type) as unknown[] | undefined, binders: [] }));
    binding.binders.push(this.interceptor);
    // A subclass inherits its parent's list, which may hold a binding already: one per class.
    const inherited = withoutLibraryInstances((Reflect.getMetadata(INTERCEPTORS_METADATA, type) ?? []) as unknown[]);
    // First among the class's interceptors: the app's own ones run inside it, so what they
    // change in the session after the handler is still saved.
    Reflect.defineMetadata(INTERCEPTORS_METADATA, [this.interceptor, ...inherited], type);
  }
}

/** The app bound the interceptor on a method of `type` (each resolver it guards is then checked on its own). */
function boundOnAnyMethod(type: Function): boolean {
  const prototype = type.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(prototype).some((name) => {
    const method = name === 'constructor' ? undefined : Object.getOwnPropertyDescriptor(prototype, name)?.value;
    return typeof method === 'function' && savedByAppInterceptor(method);
  });
}
