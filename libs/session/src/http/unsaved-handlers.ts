import type { ModulesContainer } from '@nestjs/core';

/**
 * Class metadata that marks a WebSocket gateway (@nestjs/websockets' GATEWAY_METADATA) and a
 * GraphQL resolver (@nestjs/graphql's RESOLVER_TYPE_METADATA, set even by a bare `@Resolver()`).
 * Spelled out here: both packages are optional for this library.
 */
const GATEWAY_METADATA = 'websockets:is_gateway';
const RESOLVER_METADATA = 'graphql:resolver_type';

/**
 * The app's gateways and resolvers, by class name: handlers that a global SessionGuard would load a
 * session for but that `commit: 'on-send'`, which hooks HTTP responses only, would never save.
 * `commit: 'auto'` picks the interceptor when there are any.
 */
export function gatewaysAndResolvers(modules: ModulesContainer): string[] {
  const names = new Set<string>();
  for (const moduleRef of modules.values()) {
    for (const wrapper of moduleRef.providers.values()) {
      const type = wrapper.metatype;
      if (typeof type !== 'function') continue;
      if (Reflect.hasMetadata(GATEWAY_METADATA, type) || Reflect.hasMetadata(RESOLVER_METADATA, type)) names.add(type.name);
    }
  }
  return [...names];
}
