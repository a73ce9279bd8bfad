import { describe, expect, it } from '@jest/globals';
import { UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { SessionLoader } from './session-loader.js';
import { SessionGuard } from './session.guard.js';
import { SessionUsageError } from './session.errors.js';

class SomeGateway {
  handle(): void {}
}

const contextOf = (type: string): ExecutionContext =>
  ({ getType: () => type, getHandler: () => SomeGateway.prototype.handle, getClass: () => SomeGateway }) as unknown as ExecutionContext;

describe("SessionGuard with commit: 'on-send'", () => {
  const guard = new SessionGuard({ options: { commit: 'on-send' } } as SessionLoader, new Reflector());

  // Only HTTP responses are hooked: a session loaded here would never be saved.
  it.each([
    ['ws', 'gateway message'],
    ['graphql', 'GraphQL resolver'],
  ])('refuses a %s handler, saying what to use instead', async (type, named) => {
    const refusal = guard.canActivate(contextOf(type));
    await expect(refusal).rejects.toThrow(SessionUsageError);
    await expect(refusal).rejects.toThrow(`SessionGuard ran for a ${named}, but the module saves sessions with commit: 'on-send'`);
    await expect(refusal).rejects.toThrow("use commit: 'interceptor' in an app with GraphQL or gateways ('auto', the default, picks it");
  });
});

describe('SessionGuard on a GraphQL context with no HTTP response (a Fastify request alone)', () => {
  class NoteResolver {
    me(): void {}
  }
  const graphqlContext = {
    getType: () => 'graphql',
    getHandler: () => NoteResolver.prototype.me,
    getClass: () => NoteResolver,
    getArgs: () => [undefined, {}, { req: { headers: { cookie: 'sid=x' } } }, {}],
  } as unknown as ExecutionContext;
  // A credential that names no session: the strategy would clear it, which needs a response.
  const rejecting = {
    options: { commit: 'interceptor' },
    load: () => ({
      kind: 'rejected',
      reason: 'Invalid or expired session credential',
      strategy: { clear: (response: { appendHeader(name: string, value: string): void }) => response.appendHeader('Set-Cookie', 'sid=; Max-Age=0') },
    }),
  } as unknown as SessionLoader;

  it('answers 401, leaving out the clearing cookie it has nowhere to send, instead of a usage error (500)', async () => {
    const refusal = new SessionGuard(rejecting, new Reflector()).canActivate(graphqlContext);
    await expect(refusal).rejects.toThrow(UnauthorizedException);
    await expect(refusal).rejects.toThrow('Invalid or expired session credential');
  });
});
