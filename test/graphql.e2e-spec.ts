/**
 * Sessions in GraphQL resolvers (@nestjs/graphql code first, Apollo on Express), on a real Redis,
 * with commit unset ('auto': the interceptor bound to the resolver) and, where marked, registered globally:
 * - SessionGuard (global) runs on resolvers through the GraphQL context: no or a bad credential is
 *   an UNAUTHENTICATED error, @AllowAnonymous resolvers get a guest session;
 * - `@Session()` works in resolvers, for cookie and bearer (JWT) sessions alike;
 * - changes are committed after the resolvers, the cookie goes out on the HTTP response (login
 *   rotates it, and a guest's cart survives), and every field of `mutation { a b }` is saved;
 * - an anonymous field does not open the protected ones of the same operation;
 * - a cross-origin mutation with the cookie is refused before anything runs (CSRF).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTransportApp, type TransportApp } from './fixtures/transport-app.js';
import { cookiesNamed, isClearing, uniquePrefix, uniqueUser } from './support/demo-app.js';
import { startRedisServer, type RedisServerHandle } from './support/redis-server.js';

let server: RedisServerHandle;
/** commit unset ('auto': the interceptor bound to the resolver, HTTP routes saved on send). */
let app: TransportApp;
/** commit: 'interceptor', registered globally. */
let globalInterceptorApp: TransportApp;

beforeAll(async () => {
  server = await startRedisServer();
  app = await startTransportApp({ redisUrl: server.url, keyPrefix: uniquePrefix('gql'), graphql: true });
  globalInterceptorApp = await startTransportApp({ redisUrl: server.url, keyPrefix: uniquePrefix('gql-global'), graphql: true, commit: 'interceptor' });
});

afterAll(async () => {
  await app?.close();
  await globalInterceptorApp?.close();
  await server?.stop();
});

interface GqlResult {
  status: number;
  data: Record<string, unknown> | null;
  errors: Array<{ message: string; path?: string[]; extensions?: { code?: string } }>;
  /** The `sid` Set-Cookie of the response, if any. */
  cookie: { value: string; raw: string; clearing: boolean } | null;
}

async function gql(query: string, headers: Record<string, string> = {}, variables: Record<string, unknown> = {}, on: TransportApp = app): Promise<GqlResult> {
  const res = await request(on.http).post('/graphql').set(headers).send({ query, variables });
  const [cookie] = cookiesNamed(res, 'sid');
  return {
    status: res.status,
    data: res.body.data ?? null,
    errors: res.body.errors ?? [],
    cookie: cookie ? { value: cookie.value, raw: cookie.raw, clearing: isClearing(cookie) } : null,
  };
}

const codes = (result: GqlResult) => result.errors.map((e) => [e.path?.join('.'), e.extensions?.code, e.message]);

type Kind = 'cookie' | 'bearer';

/** Signs in over GraphQL (cookie) or over the fixture's HTTP token route (bearer JWT). */
async function signIn(kind: Kind, user: string, on: TransportApp = app): Promise<Record<string, string>> {
  if (kind === 'bearer') {
    const res = await request(on.http).post('/token').send({ username: user }).expect(200);
    return { authorization: `Bearer ${res.body.token}` };
  }
  const result = await gql('mutation($u: String!) { login(username: $u) }', {}, { u: user }, on);
  expect(result.errors).toEqual([]);
  return { cookie: `sid=${result.cookie!.value}` };
}

describe('SessionGuard on resolvers', () => {
  it('refuses a protected query without a credential: UNAUTHENTICATED, no data', async () => {
    const result = await gql('{ me { id } }');
    expect(codes(result)).toEqual([['me', 'UNAUTHENTICATED', 'Authentication required: no session credential']]);
    expect(result.data).toBeNull();
  });

  it('refuses an unknown cookie and clears it on the HTTP response', async () => {
    const result = await gql('{ me { id } }', { cookie: `sid=${'A'.repeat(32)}` });
    expect(codes(result)).toEqual([['me', 'UNAUTHENTICATED', 'Invalid or expired session credential']]);
    expect(result.cookie?.clearing).toBe(true);
  });

  it('an @AllowAnonymous field does not open the protected fields of the same operation', async () => {
    const result = await gql('{ hello me { id } }');
    expect(result.data).toBeNull(); // `me` is non-null, so its error nulls the whole result
    expect(codes(result)).toEqual([['me', 'UNAUTHENTICATED', 'Authentication required: no session credential']]);
    expect((await gql('{ hello }')).data).toEqual({ hello: 'hello' });
  });
});

describe.each<[Kind, string, () => TransportApp]>([
  ['cookie', "commit: 'auto'", () => app],
  ['bearer', "commit: 'auto'", () => app],
  ['cookie', "commit: 'interceptor'", () => globalInterceptorApp],
  ['bearer', "commit: 'interceptor'", () => globalInterceptorApp],
])('resolvers over a %s session (%s)', (kind, _commit, target) => {
  it('gives @Session() to resolvers', async () => {
    const user = uniqueUser(`gql${kind}`);
    const headers = await signIn(kind, user, target());
    const result = await gql('{ me { userId id cart { sku qty } } }', headers, {}, target());
    expect(result.errors).toEqual([]);
    expect(result.data).toEqual({ me: { userId: user, id: expect.any(String), cart: [] } });
  });

  it('parallel root fields of one query share one session', async () => {
    const headers = await signIn(kind, uniqueUser(`par${kind}`), target());
    const result = await gql('{ a: me { id } b: me { id } c: me { id } }', headers, {}, target());
    expect(result.errors).toEqual([]);
    const ids = ['a', 'b', 'c'].map((field) => (result.data![field] as { id: string }).id);
    expect(new Set(ids).size).toBe(1);
  });

  it('commits every field of `mutation { a b }`, visible over HTTP', async () => {
    const headers = await signIn(kind, uniqueUser(`two${kind}`), target());
    const result = await gql('mutation { a: putCart(sku: "apple", qty: 1) b: putCart(sku: "pear", qty: 2) }', headers, {}, target());
    expect(result).toMatchObject({ errors: [], data: { a: 1, b: 2 } });
    const me = await request(target().http).get('/me').set(headers).expect(200);
    expect(me.body.cart).toEqual([
      { sku: 'apple', qty: 1 },
      { sku: 'pear', qty: 2 },
    ]);
  });
});

describe('a GraphQL context that keeps the request only: `({ req }) => ({ req })`', () => {
  let bare: TransportApp;
  beforeAll(async () => {
    bare = await startTransportApp({ redisUrl: server.url, keyPrefix: uniquePrefix('gql-req-only'), graphql: true, graphqlContextWithoutResponse: true });
  });
  afterAll(async () => {
    await bare?.close();
  });
  const post = (query: string, headers: Record<string, string> = {}) => request(bare.http).post('/graphql').set(headers).send({ query });

  // Express links the response to its request (req.res), so the cookie still goes out. (A Fastify
  // request does not know its reply: that case is session.guard.spec.ts's.)
  it('on Express still clears an unknown cookie and sends a sign-in cookie, through req.res', async () => {
    const refused = await post('{ me { id } }', { cookie: `sid=${'A'.repeat(32)}` });
    expect(refused.body.errors.map((e: { extensions?: { code?: string } }) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(cookiesNamed(refused, 'sid').map(isClearing)).toEqual([true]);
    const login = await post(`mutation { login(username: "${uniqueUser('gql-req-only')}") }`);
    expect(login.body.errors).toBeUndefined();
    expect(cookiesNamed(login, 'sid').map(isClearing)).toEqual([false]);
  });
});

describe('cookies on the HTTP response', () => {
  it('a guest mutation starts a session with an HttpOnly, SameSite=Lax, Path=/ cookie; login rotates it and keeps the cart', async () => {
    const guest = await gql('mutation { putCart(sku: "book", qty: 3) }');
    expect(guest.errors).toEqual([]);
    expect(guest.cookie?.raw).toMatch(/^sid=[A-Za-z0-9_-]{32}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
    const guestCookie = `sid=${guest.cookie!.value}`;

    const user = uniqueUser('gqllogin');
    const login = await gql('mutation($u: String!) { login(username: $u) }', { cookie: guestCookie }, { u: user });
    expect(login.errors).toEqual([]);
    expect(login.cookie?.value).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(login.cookie?.value).not.toBe(guest.cookie!.value);
    const signedIn = { cookie: `sid=${login.cookie!.value}` };

    const me = await gql('{ me { userId id cart { sku qty } } }', signedIn);
    expect(me.data).toEqual({ me: { userId: user, id: login.data!.login, cart: [{ sku: 'book', qty: 3 }] } });
    // No session fixation: within the rotation grace the pre-login cookie still reads the guest
    // session it named, never the signed-in one, and cannot change it.
    const late = await gql('{ me { userId id } }', { cookie: guestCookie });
    expect(late.errors).toEqual([]);
    expect(late.data?.me).toMatchObject({ userId: null });
    expect(late.data?.me).not.toMatchObject({ id: login.data!.login });
    expect(late.cookie).toBeNull();
    const lateWrite = await gql('mutation { putCart(sku: "pen", qty: 1) }', { cookie: guestCookie });
    expect(lateWrite.errors.map((e) => e.message)).toEqual([expect.stringContaining('replaced moments ago')]);
    // The new session's logout ends the guest session's grace too: the pre-login cookie then stops working.
    expect((await gql('mutation { logout }', signedIn)).errors).toEqual([]);
    expect(codes(await gql('{ me { id } }', { cookie: guestCookie }))).toEqual([
      ['me', 'UNAUTHENTICATED', 'Invalid or expired session credential'],
    ]);
  });

  it('logout destroys the session and clears the cookie', async () => {
    const headers = await signIn('cookie', uniqueUser('gqlout'));
    const out = await gql('mutation { logout }', headers);
    expect(out).toMatchObject({ errors: [], data: { logout: true } });
    expect(out.cookie?.clearing).toBe(true);
    expect(codes(await gql('{ me { id } }', headers))[0]?.[1]).toBe('UNAUTHENTICATED');
  });

  it('refuses a cross-origin mutation carrying the cookie before any resolver runs (CSRF)', async () => {
    const headers = await signIn('cookie', uniqueUser('gqlcsrf'));
    const forged = await gql('mutation { putCart(sku: "forged", qty: 1) }', {
      ...headers,
      origin: 'http://evil.example',
      'sec-fetch-site': 'cross-site',
    });
    expect(codes(forged)).toEqual([['putCart', 'FORBIDDEN', expect.stringContaining('Cross-origin request refused')]]);
    const me = await gql('{ me { cart { sku } } }', headers);
    expect(me.data).toEqual({ me: { cart: [] } });
  });
});
