/**
 * Sessions in a socket.io gateway, on a real Redis, with two app instances (A and B) sharing it:
 * - the handshake needs a live session, from the cookie or from `auth: { token }` (bearer JWT), and
 *   a cookie only counts from the app's own origin (or a trusted one);
 * - `@Session()` works in `@SubscribeMessage` handlers, and their writes are committed after the
 *   handler (also for concurrent messages on one socket); signing in over a socket is refused;
 * - destroying, rotating or revoking a session on one instance closes its sockets on the other
 *   (Redis Pub/Sub), with a `session.ended` event first; a session that vanished unannounced is
 *   caught at the next message; the absolute deadline closes the socket too.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { startTransportApp, type TransportApp } from './fixtures/transport-app.js';
import { uniquePrefix, uniqueUser } from './support/demo-app.js';
import { closedWithin, connect, refusal, staysOpen, type Credentials, type OpenSocket } from './support/socket-client.js';
import { redisClientFor, startRedisServer, type RedisServerHandle } from './support/redis-server.js';

// Waits are bounded by the helpers (8 s each); the busy CI machine gets room above the 5 s default.
jest.setTimeout(30_000);

let server: RedisServerHandle;
let redis: Redis;
let a: TransportApp;
let b: TransportApp;
let prefix: string;
const sockets: OpenSocket[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = await redisClientFor(server);
  prefix = uniquePrefix('ws');
  a = await startTransportApp({ redisUrl: server.url, keyPrefix: prefix, ws: true });
  // a leaves commit unset ('auto': the interceptor bound to the gateway); b registers it globally.
  b = await startTransportApp({ redisUrl: server.url, keyPrefix: prefix, ws: true, commit: 'interceptor' });
  // Both instances listen for ended sessions before any test revokes one (bounded wait).
  for (let i = 0; i < 100; i++) {
    const [, count] = (await redis.call('PUBSUB', 'NUMSUB', `${prefix}ended`)) as [string, number];
    if (Number(count) >= 2) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

afterAll(async () => {
  for (const open of sockets) open.close();
  await a?.close();
  await b?.close();
  await redis?.quit();
  await server?.stop();
});

type Kind = 'cookie' | 'bearer';

/** Signs `user` in on `app` and returns the credentials a browser (cookie) or an API client (bearer) holds. */
async function signIn(app: TransportApp, kind: Kind, user: string): Promise<Credentials & { id: string }> {
  if (kind === 'bearer') {
    const res = await request(app.http).post('/token').send({ username: user }).expect(200);
    return { token: res.body.token, id: res.body.id };
  }
  const res = await request(app.http).post('/login').send({ username: user }).expect(200);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0];
  return { cookie: setCookie.split(';')[0], id: res.body.id };
}

/** The HTTP headers that present the same credentials. */
const headersOf = (credentials: Credentials): Record<string, string> =>
  credentials.token ? { authorization: `Bearer ${credentials.token}` } : { cookie: credentials.cookie! };

async function open(app: TransportApp, credentials: Credentials): Promise<OpenSocket> {
  const socket = await connect(app.url, credentials);
  sockets.push(socket);
  return socket;
}

const get = (app: TransportApp, path: string, credentials: Credentials) => request(app.http).get(path).set(headersOf(credentials));

describe('handshake', () => {
  it('refuses a handshake without a credential (401)', async () => {
    const refused = await refusal(a.url, {});
    expect({ message: refused.message, status: refused.status }).toEqual({
      message: 'Authentication required: no session credential',
      status: 401,
    });
  });

  it('refuses an unknown cookie, a malformed one and a forged bearer token alike (401)', async () => {
    const { token } = await signIn(a, 'bearer', uniqueUser('forge'));
    const forged = `${token!.slice(0, -4)}${token!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    for (const credentials of [{ cookie: `sid=${'A'.repeat(32)}` }, { cookie: 'sid=not-a-session' }, { token: forged }]) {
      const refused = await refusal(a.url, credentials);
      expect({ message: refused.message, status: refused.status }).toEqual({
        message: 'Invalid or expired session credential',
        status: 401,
      });
    }
  });

  it('refuses a session that was signed out', async () => {
    const credentials = await signIn(a, 'cookie', uniqueUser('gone'));
    await request(a.http).post('/logout').set(headersOf(credentials)).expect(204);
    expect((await refusal(b.url, credentials)).status).toBe(401);
  });

  it('ignores the cookie of a handshake from another origin (cross-site WebSocket hijacking), not a bearer token', async () => {
    const cookie = await signIn(a, 'cookie', uniqueUser('origin'));
    expect((await refusal(a.url, { ...cookie, origin: 'http://evil.example' })).status).toBe(401);
    // Its own origin and a trusted one (attach's allowedOrigins) may use the cookie.
    const host = new URL(a.url).host;
    for (const origin of [`http://${host}`, 'https://trusted.example']) {
      const socket = await open(a, { ...cookie, origin });
      expect(await socket.ack('whoami')).toMatchObject({ id: cookie.id });
      socket.close();
    }
    const bearer = await signIn(a, 'bearer', uniqueUser('origin'));
    const socket = await open(a, { ...bearer, origin: 'http://evil.example' });
    expect(await socket.ack('whoami')).toMatchObject({ id: bearer.id });
  });
});

describe.each<Kind>(['cookie', 'bearer'])('messages over a %s session', (kind) => {
  it('gives @Session() to handlers, on either instance', async () => {
    const user = uniqueUser(`who${kind}`);
    const credentials = await signIn(a, kind, user);
    for (const app of [a, b]) {
      const socket = await open(app, credentials);
      expect(await socket.ack('whoami')).toEqual({ userId: user, id: credentials.id, cart: [] });
    }
  });

  it("commits a handler's writes after it, visible over HTTP and on the other instance", async () => {
    const credentials = await signIn(a, kind, uniqueUser(`write${kind}`));
    const socket = await open(b, credentials);
    expect(await socket.ack('cart:put', { sku: 'book', qty: 2 })).toEqual({ sku: 'book', qty: 2 });
    expect((await get(a, '/me', credentials).expect(200)).body.cart).toEqual([{ sku: 'book', qty: 2 }]);
    expect(await socket.ack('visit')).toBe(1);
    expect(await socket.ack('visit')).toBe(2);
  });

  it('keeps every write of concurrent messages on one socket', async () => {
    const credentials = await signIn(a, kind, uniqueUser(`many${kind}`));
    const socket = await open(a, credentials);
    const skus = Array.from({ length: 20 }, (_, i) => `item-${String(i).padStart(2, '0')}`);
    await Promise.all(skus.map((sku, i) => socket.ack('cart:put', { sku, qty: i + 1 })));
    const { body } = await get(b, '/me', credentials).expect(200);
    expect(body.cart).toEqual(skus.map((sku, i) => ({ sku, qty: i + 1 })));
  });

  it('refuses to sign in over a socket (the new credential could not reach the client) and changes nothing', async () => {
    const user = uniqueUser(`relog${kind}`);
    const credentials = await signIn(a, kind, user);
    const socket = await open(a, credentials);
    expect(await socket.failure('login', { username: uniqueUser('other') })).toEqual({
      status: 'error',
      code: 500,
      message: expect.stringContaining('cannot sign in, rotate or start a session'),
    });
    expect((await get(a, '/me', credentials).expect(200)).body).toMatchObject({ userId: user, id: credentials.id });
  });
});

describe('ended sessions close their sockets on every instance', () => {
  it.each<Kind>(['cookie', 'bearer'])('%s: signing out over HTTP on A closes the socket on B, after a session.ended event', async (kind) => {
    const credentials = await signIn(a, kind, uniqueUser(`out${kind}`));
    const socket = await open(b, credentials);
    await request(a.http).post('/logout').set(headersOf(credentials)).expect(204);
    expect(await closedWithin(socket)).toEqual({ reason: 'io server disconnect', ended: 'destroyed' });
  });

  it('signing out over the socket itself answers the message, then closes it and the session\'s other sockets', async () => {
    const credentials = await signIn(a, 'cookie', uniqueUser('wsout'));
    const own = await open(a, credentials);
    const other = await open(b, credentials);
    expect(await own.ack('logout')).toEqual({ ok: true });
    expect(await closedWithin(own)).toEqual({ reason: 'io server disconnect', ended: 'destroyed' });
    expect(await closedWithin(other)).toEqual({ reason: 'io server disconnect', ended: 'destroyed' });
    await get(a, '/me', credentials).expect(401);
  });

  it('rotating the session over HTTP closes sockets opened with the old credential', async () => {
    const credentials = await signIn(a, 'cookie', uniqueUser('rotate'));
    const socket = await open(b, credentials);
    await request(a.http).post('/rotate').set(headersOf(credentials)).expect(204);
    expect(await closedWithin(socket)).toEqual({ reason: 'io server disconnect', ended: 'rotated' });
  });

  it('a socket opened with a credential rotated away moments ago reads the old session, and its writes answer 409', async () => {
    const user = uniqueUser('graced');
    const credentials = await signIn(a, 'cookie', user);
    await request(a.http).post('/rotate').set(headersOf(credentials)).expect(204);
    // Within rotationGraceMs (5 s by default): the old session as it was, read-only.
    const socket = await open(b, credentials);
    expect(await socket.ack('whoami')).toEqual({ userId: user, id: credentials.id, cart: [] });
    expect(await socket.failure('cart:put', { sku: 'late', qty: 1 })).toEqual({
      status: 'error',
      code: 409,
      message: expect.stringContaining('replaced moments ago'),
    });
    expect(await redis.hexists(`${prefix}{${credentials.cookie!.split('=')[1]}}`, 'd:cart:late')).toBe(0);
  });

  it('revoking one session from "your sessions" on A closes only its sockets on B', async () => {
    const user = uniqueUser('revoke');
    const phone = await signIn(a, 'cookie', user);
    const laptop = await signIn(a, 'cookie', user);
    const api = await signIn(a, 'bearer', user);
    const phoneSocket = await open(b, phone);
    const laptopSocket = await open(b, laptop);
    const apiSocket = await open(b, api);

    await request(a.http).delete(`/sessions/${phone.id}`).set(headersOf(laptop)).expect(204);
    expect(await closedWithin(phoneSocket)).toEqual({ reason: 'io server disconnect', ended: 'revoked' });
    await staysOpen(laptopSocket, 300);

    // "Sign out everywhere else" from the laptop: the API client's socket goes, the laptop's stays.
    await request(a.http).delete('/sessions').set(headersOf(laptop)).expect(204);
    expect(await closedWithin(apiSocket)).toEqual({ reason: 'io server disconnect', ended: 'revoked' });
    await staysOpen(laptopSocket, 300);
    expect(await laptopSocket.ack('whoami')).toMatchObject({ userId: user, id: laptop.id });
  });

  it('a session that vanished without an announcement is caught at the next message: 401, socket closed', async () => {
    const credentials = await signIn(a, 'cookie', uniqueUser('vanish'));
    const socket = await open(b, credentials);
    const storeId = credentials.cookie!.split('=')[1];
    expect(await redis.del(`${prefix}{${storeId}}`)).toBe(1);
    expect(await socket.failure('whoami')).toEqual({ status: 'error', code: 401, message: 'Invalid or expired session credential' });
    expect(await closedWithin(socket)).toMatchObject({ reason: 'io server disconnect' });
  });
});

describe('absolute deadline', () => {
  let short: TransportApp;

  beforeAll(async () => {
    short = await startTransportApp({ redisUrl: server.url, keyPrefix: uniquePrefix('ws-ttl'), ws: true, ttl: { idle: 2, absolute: 2 } });
  });

  afterAll(async () => {
    await short?.close();
  });

  it('closes the socket when its session reaches its absolute deadline', async () => {
    const credentials = await signIn(short, 'cookie', uniqueUser('deadline'));
    const socket = await open(short, credentials);
    expect(await closedWithin(socket, 10_000)).toEqual({ reason: 'io server disconnect', ended: 'expired' });
  });
});
