import { describe, expect, it, jest } from '@jest/globals';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import * as first from './request-session.js';
import type { UserSession } from './user-session.js';

type Registry = typeof first;

/** A second copy of the module, as when an app and a linked package each load the library. */
async function secondCopy(): Promise<Registry> {
  let copy: Registry | undefined;
  await jest.isolateModulesAsync(async () => {
    copy = await import('./request-session.js');
  });
  return copy!;
}

const aSession = (label: string) => ({ label }) as unknown as UserSession<object>;

describe('the request-session registry', () => {
  it('is loaded twice here: the two copies are separate module instances', async () => {
    const second = await secondCopy();
    expect(second).not.toBe(first);
    expect(second.requestSession).not.toBe(first.requestSession);
  });

  it.each([
    ['an Express or Node request (the WeakMap)', () => new IncomingMessage(new Socket())],
    ['a Fastify request, or any other object (the symbol slot)', () => ({ headers: {}, raw: {} })],
  ])('gives both copies the session one of them attached to %s', async (_kind, newRequest) => {
    const second = await secondCopy();
    const request = newRequest();
    const session = aSession('attached by the first copy');
    expect(first.attachRequestSession(request, session)).toBe(session);
    expect(second.requestSession(request)).toBe(session);
    // The first attached stays, whichever copy attaches next.
    expect(second.attachRequestSession(request, aSession('later'))).toBe(session);
    expect(first.requestSession(newRequest())).toBeUndefined();
  });

  it('adds no property to a Node (Express) request, and one symbol slot to any other object', () => {
    const slot = Symbol.for('nestjs-redis-session:request-session');
    const node = new IncomingMessage(new Socket());
    first.attachRequestSession(node, aSession('node'));
    expect(Object.getOwnPropertySymbols(node)).not.toContain(slot);
    const other = { headers: {} };
    first.attachRequestSession(other, aSession('other'));
    expect(Object.getOwnPropertySymbols(other)).toEqual([slot]);
  });
});
