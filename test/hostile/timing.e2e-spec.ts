/**
 * Hostile input, part 5: time. Idle and absolute deadlines with real short TTLs (idle 1 s,
 * absolute 2 s), and the rule that an unknown, a malformed, a revoked and an expired credential
 * answer alike (same status, same body, same Set-Cookie), so none of them tells an attacker more
 * than the others.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sha256Base64Url, signJwt, sleep, uniqueUser, type Client, type DemoApp } from '../support/demo-app.js';
import { REJECTED, World, answer, base64url, escapeRegExp, send } from './harness.js';

const world = new World();
const STRATEGIES = ['session-id', 'hashed', 'jwt'] as const;
const IDLE_MS = 1000;
const ABSOLUTE_MS = 2000;
/** Scheduling slack on a loaded 2-core machine: checks stay this far from a deadline. */
const MARGIN_MS = 250;

beforeAll(async () => {
  await world.start();
});

afterEach(async () => {
  await world.checkInvariants();
});

afterAll(async () => {
  await world.stop();
});

describe.each(STRATEGIES)('%s (idle 1 s, absolute 2 s)', (strategy) => {
  let demo: DemoApp;
  /** Signed in at the start and never used again: expired by the time the last test runs. */
  let sleeper: Client;

  beforeAll(async () => {
    demo = await world.boot(strategy, { label: 'time', env: { SESSION_IDLE_TTL: '1', SESSION_ABSOLUTE_TTL: '2' } });
    sleeper = demo.client();
    await sleeper.login(uniqueUser('sleeper'));
  });

  const anyKey = () => [new RegExp(`^${escapeRegExp(demo.prefix)}`)];
  const present = (credential: string) =>
    demo.strategy === 'jwt' ? { authorization: `Bearer ${credential}` } : { cookie: `${demo.cookieName}=${credential}` };

  it('idle: alive while used, refused once idle longer than the idle TTL (Redis expired the key itself)', async () => {
    const client = demo.client();
    const { result } = await world.observe({ changes: anyKey() }, async () => {
      const login = await client.login(uniqueUser('idle'));
      const started = Date.now();
      await sleep(IDLE_MS / 2);
      const during = await client.get('/me');
      const lastUse = Date.now();
      // The read slid the idle deadline: the key now expires about IDLE_MS after that read.
      const expiresAt = await world.admin.pexpiretime(`${demo.prefix}{${storeIdOf(client.credential!)}}`);
      await sleep(IDLE_MS + MARGIN_MS);
      const after = await client.as(client.credential).get('/me');
      return { login, during, after, started, lastUse, expiresAt };
    });
    expect(result.during.status).toBe(200);
    expect(result.expiresAt).toBeGreaterThan(result.started + IDLE_MS);
    expect(result.expiresAt).toBeLessThanOrEqual(result.lastUse + IDLE_MS + 50);
    expect(result.after.status).toBe(401);
    expect(result.after.body).toEqual(REJECTED);
  });

  it('absolute: refused at the absolute deadline even while used every 400 ms; the key never outlives it', async () => {
    const client = demo.client();
    const { result } = await world.observe({ changes: anyKey() }, async () => {
      await client.login(uniqueUser('absolute'));
      const loggedInAt = Date.now();
      const key = `${demo.prefix}{${storeIdOf(client.credential!)}}`;
      const deadline = Number(await world.admin.hget(key, 'm:d'));
      // A JWT's exp has whole seconds: it ends on the last whole second before the deadline.
      const exp = demo.strategy === 'jwt' ? Number(JSON.parse(Buffer.from(client.credential!.split('.')[1], 'base64url').toString()).exp) * 1000 : deadline;
      const seen: Array<{ at: number; status: number; expiresAt: number }> = [];
      while (Date.now() < exp - MARGIN_MS - 400) {
        await sleep(400);
        const res = await client.as(client.credential).get('/me');
        seen.push({ at: Date.now() - loggedInAt, status: res.status, expiresAt: await world.admin.pexpiretime(key) });
      }
      await sleep(Math.max(0, deadline - Date.now()) + MARGIN_MS);
      const after = await client.as(client.credential).get('/me');
      return { seen, deadline, exp, loggedInAt, after, exists: await world.admin.exists(key) };
    });
    expect(result.deadline - result.loggedInAt).toBeLessThanOrEqual(ABSOLUTE_MS);
    expect(result.exp).toBeLessThanOrEqual(result.deadline);
    expect(result.exp).toBeGreaterThan(result.deadline - 1000);
    expect(result.seen.length).toBeGreaterThanOrEqual(1);
    for (const step of result.seen) {
      expect(step.status).toBe(200);
      expect(step.expiresAt).toBeLessThanOrEqual(result.deadline);
    }
    expect(result.after.status).toBe(401);
    expect(result.after.body).toEqual(REJECTED);
    expect(result.exists).toBe(0);
  });

  it('an unknown, a malformed, a revoked and an expired credential answer alike', async () => {
    // The sleeper's session has been idle for longer than the idle TTL by now (bounded wait).
    const sleeperKey = `${demo.prefix}{${storeIdOf(sleeper.credential!)}}`;
    for (let i = 0; i < 20 && (await world.admin.exists(sleeperKey)); i++) await sleep(100);
    expect(await world.admin.exists(sleeperKey)).toBe(0);

    const revoked = demo.client();
    await revoked.login(uniqueUser('revoked'));
    const revokedCredential = revoked.credential!;
    expect((await revoked.post('/auth/logout')).status).toBe(204);

    const unknown =
      demo.strategy === 'jwt'
        ? signJwt({ sid: base64url(32), iss: 'nestjs-redis-session-demo', aud: 'demo', sub: uniqueUser('ghost') }, { expiresInSeconds: 60 })
        : base64url(demo.strategy === 'hashed' ? 43 : 32);
    const credentials: Array<[string, string]> = [
      ['unknown', unknown],
      ['malformed', '{malformed*}'],
      ['revoked', revokedCredential],
      ['expired', sleeper.credential!],
    ];
    const { result } = await world.observe({ redis: 'no-writes' }, async () => {
      const answers: Array<{ label: string; answer: ReturnType<typeof answer> }> = [];
      for (const [label, credential] of credentials) answers.push({ label, answer: answer(await send(demo, present(credential))) });
      return answers;
    });
    const first = result[0].answer;
    expect(first.status).toBe(401);
    expect(first.body).toEqual(REJECTED);
    for (const { label, answer: other } of result) expect({ label, ...other }).toEqual({ label, ...first });
  });

  function storeIdOf(credential: string): string {
    if (demo.strategy === 'jwt') return JSON.parse(Buffer.from(credential.split('.')[1], 'base64url').toString()).sid as string;
    if (demo.strategy === 'hashed') return sha256Base64Url(credential);
    return credential;
  }
});

