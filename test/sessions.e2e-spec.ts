/**
 * Demo app, every strategy: "your sessions". Listing, revoking one by handle, signing out
 * everywhere else, and SESSION_MAX_PER_USER evicting the oldest session. Handles are never
 * credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ISO_8601,
  STRATEGIES,
  credentialForms,
  demoEnv,
  startDemoApp,
  uniqueUser,
  type Client,
  type DemoApp,
} from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

interface Listed {
  handle: string;
  createdAt: string;
  lastSeenAt: string;
  userAgent: string | null;
  current: boolean;
}

let redis: SuiteRedis;

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

/** Logs `count` clients in as `user`, one after the other, each with its own User-Agent. */
async function logInClients(demo: DemoApp, user: string, count: number): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 1; i <= count; i++) {
    const client = demo.client(`e2e-device-${i}-${user}`);
    await client.login(user);
    clients.push(client);
    await new Promise((resolve) => setTimeout(resolve, 5)); // distinct creation times
  }
  return clients;
}

async function listSessions(client: Client): Promise<Listed[]> {
  const res = await client.get('/sessions');
  if (res.status !== 200) throw new Error(`GET /sessions answered ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.sessions as Listed[];
}

describe.each(STRATEGIES)('sessions of a user (%s)', (strategy) => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(redis, strategy, 'sessions'));
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('lists three logins with exactly one current, their user agents, and handles that are no credential', async () => {
    const user = uniqueUser('lister');
    const clients = await logInClients(demo, user, 3);

    const sessions = await listSessions(clients[1]);
    expect(sessions).toHaveLength(3);
    for (const s of sessions) {
      expect(s).toEqual({
        handle: expect.any(String),
        createdAt: expect.stringMatching(ISO_8601),
        lastSeenAt: expect.stringMatching(ISO_8601),
        userAgent: expect.any(String),
        current: expect.any(Boolean),
      });
    }
    expect(sessions.map((s) => s.userAgent).sort()).toEqual(clients.map((c) => c.userAgent).sort());
    expect(sessions.filter((s) => s.current).map((s) => s.userAgent)).toEqual([clients[1].userAgent]);
    expect(new Set(sessions.map((s) => s.handle)).size).toBe(3);

    const secrets = clients.flatMap((c) => credentialForms(strategy, c.credential!));
    for (const s of sessions) {
      for (const secret of secrets) {
        expect(s.handle).not.toBe(secret);
        expect(secret.includes(s.handle)).toBe(false);
      }
    }
    // The listing response itself carries no credential.
    const raw = JSON.stringify(await clients[1].get('/sessions').then((r) => r.body));
    for (const secret of secrets) expect(raw.includes(secret)).toBe(false);
  });

  it("revokes another of the user's sessions by handle (204); that client then gets 401", async () => {
    const user = uniqueUser('revoker');
    const [first, second, third] = await logInClients(demo, user, 3);
    const target = (await listSessions(first)).find((s) => s.userAgent === third.userAgent)!;

    const res = await first.delete(`/sessions/${target.handle}`);
    expect(res.status).toBe(204);

    expect((await third.get('/me')).status).toBe(401);
    expect((await first.get('/me')).status).toBe(200);
    expect((await second.get('/me')).status).toBe(200);
    expect((await listSessions(first)).map((s) => s.userAgent).sort()).toEqual([first.userAgent, second.userAgent].sort());

    // Revoking it again: it is not the user's any more.
    expect((await first.delete(`/sessions/${target.handle}`)).status).toBe(404);
  });

  it("answers 404 to a malformed handle and to another user's handle, which stays alive", async () => {
    const [alice] = await logInClients(demo, uniqueUser('alice'), 1);
    const [bob] = await logInClients(demo, uniqueUser('bob'), 1);
    const bobHandle = (await listSessions(bob))[0].handle;

    expect((await alice.delete(`/sessions/${bobHandle}`)).status).toBe(404);
    expect((await bob.get('/me')).status).toBe(200);

    for (const malformed of ['not-a-handle', 'x'.repeat(22) + 'y', '%7Babc%7D', '*', 'a'.repeat(200)]) {
      expect({ malformed, status: (await alice.delete(`/sessions/${malformed}`)).status }).toEqual({ malformed, status: 404 });
    }
    // Alice's own credential is not a handle either.
    expect((await alice.delete(`/sessions/${encodeURIComponent(alice.credential!)}`)).status).toBe(404);
    expect((await alice.get('/me')).status).toBe(200);
  });

  it('signs out everywhere else: DELETE /sessions (204) ends the others and keeps the current one', async () => {
    const user = uniqueUser('everywhere');
    const [first, second, third] = await logInClients(demo, user, 3);
    const [other] = await logInClients(demo, uniqueUser('bystander'), 1);

    const res = await second.delete('/sessions');
    expect(res.status).toBe(204);

    expect((await first.get('/me')).status).toBe(401);
    expect((await third.get('/me')).status).toBe(401);
    expect((await second.get('/me')).status).toBe(200);
    expect((await other.get('/me')).status).toBe(200);
    const left = await listSessions(second);
    expect(left.map((s) => ({ userAgent: s.userAgent, current: s.current }))).toEqual([{ userAgent: second.userAgent, current: true }]);
  });

  it('needs a signed-in session to list or revoke (401)', async () => {
    const anonymous = demo.client();
    expect((await anonymous.get('/sessions')).status).toBe(401);
    expect((await anonymous.delete('/sessions')).status).toBe(401);
    expect((await anonymous.delete(`/sessions/${'a'.repeat(22)}`)).status).toBe(401);
  });
});

describe.each(STRATEGIES)('SESSION_MAX_PER_USER=2 (%s)', (strategy) => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(redis, strategy, 'maxper', { SESSION_MAX_PER_USER: '2' }));
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('evicts the oldest session on the third login', async () => {
    const user = uniqueUser('limited');
    const [oldest, middle, newest] = await logInClients(demo, user, 3);

    expect((await oldest.get('/me')).status).toBe(401);
    expect((await middle.get('/me')).status).toBe(200);
    expect((await newest.get('/me')).status).toBe(200);
    const listed = await listSessions(newest);
    expect(listed.map((s) => s.userAgent).sort()).toEqual([middle.userAgent, newest.userAgent].sort());
  });

  it('does not count a re-login of the same session as a new one', async () => {
    const user = uniqueUser('relogin');
    const [first, second] = await logInClients(demo, user, 2);
    await second.login(user); // rotation of an existing session of the same user
    expect((await first.get('/me')).status).toBe(200);
    expect((await second.get('/me')).status).toBe(200);
    expect(await listSessions(first)).toHaveLength(2);
  });
});
