/**
 * src/main.ts exports `configureApp` (the pipes the e2e tests must share with the real server), so
 * importing it must not start the demo: it has to be side-effect free apart from its exports.
 */
import type { Server } from 'node:net';
import vm from 'node:vm';
import { describe, expect, it } from '@jest/globals';

/** The worker's real process (Jest hands test files a copy; see support/redis-server.ts). */
const realProcess = vm.runInThisContext('process') as NodeJS.Process & { _getActiveHandles(): unknown[] };

const listeningServers = (): Server[] =>
  realProcess._getActiveHandles().filter((h): h is Server => typeof (h as Server)?.address === 'function' && typeof (h as Server).listening === 'boolean' && (h as Server).listening);

describe('src/main.ts', () => {
  it('can be imported for configureApp without starting a server', async () => {
    // Should the import start the demo anyway, it must not take port 3000 or a real Redis.
    process.env.PORT = '0';
    delete process.env.REDIS_URL;
    const before = new Set(listeningServers());

    const { configureApp } = await import('../src/main.js');
    expect(typeof configureApp).toBe('function');

    // bootstrap() is asynchronous: give a server the time to appear (the demo listens within ~0.5 s).
    let stray: Server[] = [];
    for (let waited = 0; waited < 1500 && stray.length === 0; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      stray = listeningServers().filter((s) => !before.has(s));
    }
    const addresses = stray.map((s) => s.address());
    // Close what the import started, so this file cannot keep Jest alive.
    for (const s of stray) {
      (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      s.close();
    }
    expect(addresses).toEqual([]);
  });
});
