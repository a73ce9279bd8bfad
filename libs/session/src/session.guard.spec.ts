import { describe, expect, it } from '@jest/globals';
import { UnauthorizedException, UseInterceptors, type ExecutionContext } from '@nestjs/common';
import { ModulesContainer, Reflector } from '@nestjs/core';
import { HandlerCommitBinding } from './handler-commit-binding.js';
import type { ResolvedSessionOptions } from './options/resolved-options.js';
import type { SessionLoader } from './session-loader.js';
import { SessionGuard } from './session.guard.js';
import { SessionUsageError } from './session.errors.js';
import { SessionCommitInterceptor } from './session.interceptor.js';

class SomeGateway {
  handle(): void {}
}

const contextOf = (type: string): ExecutionContext =>
  ({ getType: () => type, getHandler: () => SomeGateway.prototype.handle, getClass: () => SomeGateway }) as unknown as ExecutionContext;

/** What an app whose module bound nothing itself (commit: 'on-send') knows: the handlers' own metadata. */
const noBinding = () => new HandlerCommitBinding({ bindCommitToHandlers: false } as ResolvedSessionOptions, new ModulesContainer(), new SessionCommitInterceptor());

describe("SessionGuard with commit: 'on-send'", () => {
  const guard = new SessionGuard({ options: { commit: 'on-send' } } as SessionLoader, new Reflector(), noBinding());

  // Only HTTP responses are hooked: a session loaded here would never be saved.
  it.each([
    ['ws', 'gateway message'],
    ['graphql', 'GraphQL resolver'],
  ])('refuses a %s handler that SessionCommitInterceptor does not run on, saying what to do instead', async (type, named) => {
    const refusal = guard.canActivate(contextOf(type));
    await expect(refusal).rejects.toThrow(SessionUsageError);
    await expect(refusal).rejects.toThrow(`SessionGuard ran for a ${named} that SessionCommitInterceptor does not run on`);
    await expect(refusal).rejects.toThrow("put @UseInterceptors(SessionCommitInterceptor) on its class, or use commit: 'interceptor'");
  });

  // As the app binds it by hand, on the class or the method (commit: 'auto' binding it: the transport e2e suites).
  it.each([
    ['an instance on the class', (target: Function) => UseInterceptors(new SessionCommitInterceptor())(target)],
    ['the class on the class', (target: Function) => UseInterceptors(SessionCommitInterceptor)(target)],
    ['the class on the method', (target: Function) => UseInterceptors(SessionCommitInterceptor)(target.prototype, 'me', Object.getOwnPropertyDescriptor(target.prototype, 'me')!)],
  ])('loads the session of a resolver the interceptor runs on (%s)', async (_how, bind) => {
    class SavedResolver {
      me(): void {}
    }
    bind(SavedResolver);
    const loader = { ...rejectingLoader(), options: { commit: 'on-send' } } as unknown as SessionLoader;
    const refusal = new SessionGuard(loader, new Reflector(), noBinding()).canActivate(graphqlContextOf(SavedResolver));
    await expect(refusal).rejects.toThrow(UnauthorizedException);
  });
});

/** A GraphQL context of `resolver`'s `me`, whose request carries a cookie and has no response (a Fastify request alone). */
const graphqlContextOf = (resolver: { prototype: { me(): void } }): ExecutionContext =>
  ({
    getType: () => 'graphql',
    getHandler: () => resolver.prototype.me,
    getClass: () => resolver,
    getArgs: () => [undefined, {}, { req: { headers: { cookie: 'sid=x' } } }, {}],
  }) as unknown as ExecutionContext;

/** A loader whose credential names no session: the strategy would clear it, which needs a response. */
const rejectingLoader = () =>
  ({
    options: { commit: 'interceptor' },
    load: () => ({
      kind: 'rejected',
      reason: 'Invalid or expired session credential',
      strategy: { clear: (response: { appendHeader(name: string, value: string): void }) => response.appendHeader('Set-Cookie', 'sid=; Max-Age=0') },
    }),
  }) as unknown as SessionLoader;

describe('SessionGuard on a GraphQL context with no HTTP response (a Fastify request alone)', () => {
  class NoteResolver {
    me(): void {}
  }

  it('answers 401, leaving out the clearing cookie it has nowhere to send, instead of a usage error (500)', async () => {
    const refusal = new SessionGuard(rejectingLoader(), new Reflector(), noBinding()).canActivate(graphqlContextOf(NoteResolver));
    await expect(refusal).rejects.toThrow(UnauthorizedException);
    await expect(refusal).rejects.toThrow('Invalid or expired session credential');
  });
});
