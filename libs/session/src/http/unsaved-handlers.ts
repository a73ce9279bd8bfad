import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import type { ModulesContainer } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { SessionCommitInterceptor } from '../session.interceptor.js';

/**
 * Class metadata that marks a WebSocket gateway (@nestjs/websockets' GATEWAY_METADATA) and a
 * GraphQL resolver (@nestjs/graphql's RESOLVER_TYPE_METADATA, set even by a bare `@Resolver()`).
 * Spelled out here: both packages are optional for this library.
 */
const GATEWAY_METADATA = 'websockets:is_gateway';
const RESOLVER_METADATA = 'graphql:resolver_type';

const isGatewayOrResolver = (type: Function): boolean => Reflect.hasMetadata(GATEWAY_METADATA, type) || Reflect.hasMetadata(RESOLVER_METADATA, type);
const isResolver = (type: Function): boolean => Reflect.hasMetadata(RESOLVER_METADATA, type);

/**
 * The app's gateways and resolvers: handlers that the HTTP response hooks of `commit: 'on-send'`
 * never see, so their sessions are saved only where SessionCommitInterceptor runs on them.
 */
export const gatewaysAndResolvers = (modules: ModulesContainer): Function[] => providerClasses(modules, (wrapper) => wrapper.metatype, isGatewayOrResolver);

/**
 * The classes of the resolvers Nest holds as objects: given as a value, or made by a factory once
 * Nest has built them. @nestjs/graphql explores resolvers by their instances; a gateway is
 * connected only when provided as a class, which gatewaysAndResolvers finds.
 */
export const resolverInstanceClasses = (modules: ModulesContainer): Function[] =>
  providerClasses(modules, (wrapper) => (typeof wrapper.instance === 'object' && wrapper.instance !== null ? (wrapper.instance as object).constructor : undefined), isResolver);

/** The classes that `classOf` finds among every module's providers and that `wanted` accepts, once each. */
function providerClasses(modules: ModulesContainer, classOf: (wrapper: InstanceWrapper) => unknown, wanted: (type: Function) => boolean): Function[] {
  const classes = new Set<Function>();
  for (const moduleRef of modules.values()) {
    for (const wrapper of moduleRef.providers.values()) {
      const type = classOf(wrapper);
      if (typeof type === 'function' && wanted(type)) classes.add(type);
    }
  }
  return [...classes];
}

/**
 * Interceptor instances that `commit: 'auto'` put into a class's metadata (HandlerCommitBinding),
 * of any app in the process: each app knows its own, and none of them is the app's own choice.
 */
export const boundByLibrary = new WeakSet<object>();

/** An interceptor that `commit: 'auto'` bound (not the app). */
export const isLibraryInstance = (interceptor: unknown): boolean => typeof interceptor === 'object' && interceptor !== null && boundByLibrary.has(interceptor);

/**
 * Whether the app itself makes SessionCommitInterceptor run on `target` (a class or a handler
 * method): `@UseInterceptors(SessionCommitInterceptor)`, or an instance of it, there.
 */
export function savedByAppInterceptor(target: Function): boolean {
  const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, target) ?? []) as readonly unknown[];
  return interceptors.some(
    (interceptor) => interceptor === SessionCommitInterceptor || (interceptor instanceof SessionCommitInterceptor && !isLibraryInstance(interceptor)),
  );
}
