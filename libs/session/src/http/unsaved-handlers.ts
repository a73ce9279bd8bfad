import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import type { ModulesContainer } from '@nestjs/core';
import { SessionCommitInterceptor } from '../session.interceptor.js';

/**
 * Class metadata that marks a WebSocket gateway (@nestjs/websockets' GATEWAY_METADATA) and a
 * GraphQL resolver (@nestjs/graphql's RESOLVER_TYPE_METADATA, set even by a bare `@Resolver()`).
 * Spelled out here: both packages are optional for this library.
 */
const GATEWAY_METADATA = 'websockets:is_gateway';
const RESOLVER_METADATA = 'graphql:resolver_type';

/**
 * The app's gateways and resolvers: handlers that the HTTP response hooks of `commit: 'on-send'`
 * never see, so their sessions are saved only where SessionCommitInterceptor runs on them.
 */
export function gatewaysAndResolvers(modules: ModulesContainer): Function[] {
  const classes = new Set<Function>();
  for (const moduleRef of modules.values()) {
    for (const wrapper of moduleRef.providers.values()) {
      const type = wrapper.metatype;
      if (typeof type !== 'function') continue;
      if (Reflect.hasMetadata(GATEWAY_METADATA, type) || Reflect.hasMetadata(RESOLVER_METADATA, type)) classes.add(type);
    }
  }
  return [...classes];
}

/**
 * The classes of the resolvers Nest holds as objects: given as a value, or made by a factory once
 * Nest has built them. @nestjs/graphql explores resolvers by their instances; a gateway is
 * connected only when provided as a class, which gatewaysAndResolvers finds.
 */
export function resolverInstanceClasses(modules: ModulesContainer): Function[] {
  const classes = new Set<Function>();
  for (const moduleRef of modules.values()) {
    for (const wrapper of moduleRef.providers.values()) {
      const instance: unknown = wrapper.instance;
      if (typeof instance !== 'object' || instance === null) continue;
      const type = (instance as { constructor?: unknown }).constructor;
      if (typeof type === 'function' && Reflect.hasMetadata(RESOLVER_METADATA, type)) classes.add(type);
    }
  }
  return [...classes];
}

/**
 * Interceptor instances that `commit: 'auto'` put into a class's metadata (HandlerCommitBinding),
 * of any app in the process: each app knows its own, and none of them is the app's own choice.
 */
export const boundByLibrary = new WeakSet<object>();

/**
 * Whether the app itself makes SessionCommitInterceptor run on `target` (a class or a handler
 * method): `@UseInterceptors(SessionCommitInterceptor)`, or an instance of it, there.
 */
export function savedByAppInterceptor(target: Function): boolean {
  const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, target) ?? []) as readonly unknown[];
  return interceptors.some(
    (interceptor) => interceptor === SessionCommitInterceptor || (interceptor instanceof SessionCommitInterceptor && !boundByLibrary.has(interceptor)),
  );
}
