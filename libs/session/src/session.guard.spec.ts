import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
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
    await expect(refusal).rejects.toThrow("use commit: 'interceptor' (the default)");
  });
});
