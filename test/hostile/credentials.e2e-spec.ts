/**
 * Hostile input, part 1: cookie values, headers, session-id shapes and values copied from a Redis
 * dump, against the demo app under every strategy (and a `jwt,session-id` app for cross-strategy
 * confusion). See harness.ts for the invariants every case checks.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type request from 'supertest';
import { parseSetCookie, sha256Base64Url, uniqueUser, type Client, type DemoApp, type StrategyName } from '../support/demo-app.js';
import { NO_CREDENTIAL, REJECTED, World, answer, base64url, rawHttp, send, type RawRequest } from './harness.js';

const world = new World();
const apps = {} as Record<StrategyName | 'multi', DemoApp>;
/** Per app: a signed-in client with a cart item, whose session hostile requests must leave alone. */
const alice = {} as Record<StrategyName | 'multi', Client>;
const aliceName = {} as Record<StrategyName | 'multi', string>;

beforeAll(async () => {
  await world.start();
  for (const strategy of ['session-id', 'hashed', 'jwt'] as const) {
    apps[strategy] = await world.boot(strategy, { label: 'cred' });
  }
  apps.multi = await world.boot('jwt,session-id', { label: 'cred' });
  for (const key of Object.keys(apps) as Array<keyof typeof apps>) {
    alice[key] = apps[key].client();
    aliceName[key] = uniqueUser('alice');
    await alice[key].login(aliceName[key]);
    expect((await alice[key].put('/cart/book-1', { qty: 2 })).status).toBe(200);
    expect((await alice[key].get('/me')).status).toBe(200); // warm the load script
  }
});

afterEach(async () => {
  await world.checkInvariants();
});

afterAll(async () => {
  await world.stop();
});

const STRATEGIES = ['session-id', 'hashed', 'jwt'] as const;
const COOKIE_STRATEGIES = ['session-id', 'hashed'] as const;

/** How the app must answer: a refused credential (cleared if it came in a cookie) or no credential at all. */
type Refusal = 'rejected' | 'none';

function expectRefusal(res: request.Response, demo: DemoApp, kind: Refusal): void {
  expect(res.status).toBe(401);
  expect(res.body).toEqual(kind === 'rejected' ? REJECTED : NO_CREDENTIAL);
  const cookies = answer(res).setCookie.map(parseSetCookie);
  if (kind === 'rejected' && demo.strategy !== 'jwt') {
    // The cookie that named no session is cleared, with the attributes it was set with.
    expect(cookies).toHaveLength(1);
    expect(cookies[0].name).toBe(demo.cookieName);
    expect(cookies[0].value).toBe('');
    expect(Object.fromEntries(cookies[0].attributes)).toEqual({
      'max-age': '0',
      expires: 'Thu, 01 Jan 1970 00:00:00 GMT',
      path: '/',
      httponly: true,
      samesite: 'Lax',
    });
  } else {
    expect(cookies).toEqual([]);
  }
}

/** A live credential of `demo` (alice's). */
const live = (key: StrategyName | 'multi'): string => alice[key].credential!;
/** The store id behind alice's session (what a Redis dump shows). */
function storeIdOf(key: StrategyName | 'multi'): string {
  const demo = apps[key];
  const credential = live(key);
  if (demo.strategy === 'hashed') return sha256Base64Url(credential);
  if (demo.strategy === 'jwt') return JSON.parse(Buffer.from(credential.split('.')[1], 'base64url').toString()).sid as string;
  return credential;
}
/** The credential with one character changed: well-formed, names no session. */
const flipOne = (value: string): string => `${value.slice(0, -1)}${value.endsWith('A') ? 'B' : 'A'}`;
/** Presents `value` the way the app's strategy reads credentials. */
const present = (demo: DemoApp, value: string): RawRequest =>
  demo.strategy === 'jwt' ? { authorization: `Bearer ${value}` } : { cookie: `${demo.cookieName}=${value}` };

// ---------------------------------------------------------------------------------------------
// Cookie values
// ---------------------------------------------------------------------------------------------

describe('cookie values', () => {
  type CookieCase = [label: string, header: (demo: DemoApp, strategy: StrategyName) => string | string[], cookieKind: Refusal];
  const n = (demo: DemoApp) => demo.cookieName;
  const cases: CookieCase[] = [
    ['an empty value', (d) => `${n(d)}=`, 'rejected'],
    ['a value of spaces', (d) => `${n(d)}=   `, 'rejected'],
    ['a quoted live credential', (d, s) => `${n(d)}="${live(s)}"`, 'rejected'],
    ['a value of 4097 characters', (d) => `${n(d)}=${'A'.repeat(4097)}`, 'rejected'],
    ['a value of 12 KiB', (d) => `${n(d)}=${base64url(12 * 1024)}`, 'rejected'],
    ['an encoded CR/LF with an injected Set-Cookie', (d, s) => `${n(d)}=${live(s)}%0D%0ASet-Cookie:%20${n(d)}=evil`, 'rejected'],
    ['an encoded CR/LF alone', (d) => `${n(d)}=%0d%0a`, 'rejected'],
    ['an encoded NUL', (d, s) => `${n(d)}=${live(s).slice(0, -3)}%00`, 'rejected'],
    ['truncated percent-encoding', (d) => `${n(d)}=%E0%A4%A`, 'rejected'],
    ['invalid percent-encoding', (d) => `${n(d)}=%ZZ%`, 'rejected'],
    ['a percent-encoded last character (decodes to a well-formed id)', (d, s) => `${n(d)}=${live(s).slice(0, -1)}%${live(s).charCodeAt(live(s).length - 1).toString(16)}`, 'rejected'],
    ['a fully percent-encoded live credential', (d, s) => `${n(d)}=${[...live(s)].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}`, 'rejected'],
    ['a latin-1 byte', (d, s) => `${n(d)}=${live(s).slice(0, -1)}\u00e9`, 'rejected'],
    ['a tab inside', (d, s) => `${n(d)}=${live(s).slice(0, 10)}\t${live(s).slice(11)}`, 'rejected'],
    ['two cookies of the name (well-formed, unknown)', (d, s) => `${n(d)}=${flipOne(live(s))}; ${n(d)}=${flipOne(flipOne(live(s)))}`, 'rejected'],
    ['the live credential twice', (d, s) => `${n(d)}=${live(s)}; ${n(d)}=${live(s)}`, 'rejected'],
    ['an attacker cookie before the live one (cookie tossing)', (d, s) => `${n(d)}=${flipOne(live(s))}; ${n(d)}=${live(s)}`, 'rejected'],
    ['the live one before an attacker cookie', (d, s) => `${n(d)}=${live(s)}; ${n(d)}=${flipOne(live(s))}`, 'rejected'],
    ['a padded name before the live one ("sid =x; sid=y")', (d, s) => `${n(d)} =${flipOne(live(s))}; ${n(d)}=${live(s)}`, 'rejected'],
    ['the name sent in two Cookie headers', (d, s) => [`${n(d)}=${live(s)}`, `${n(d)}=${flipOne(live(s))}`], 'rejected'],
    ['an empty value and a live one', (d, s) => `${n(d)}=; ${n(d)}=${live(s)}`, 'rejected'],
    ['the name in upper case', (d, s) => `${n(d).toUpperCase()}=${live(s)}`, 'none'],
    ['the __Host- name on a plain-http app', (_d, s) => `__Host-sid=${live(s)}`, 'none'],
    ['a longer name ending in the name', (d, s) => `x${n(d)}=${live(s)}`, 'none'],
    ['a percent-encoded name', (_d, s) => `s%69d=${live(s)}`, 'none'],
    ['only other cookies', () => 'theme=dark; lang=en', 'none'],
    ['a cookie header of separators', () => ';;;; ; =; ==', 'none'],
  ];

  describe.each(STRATEGIES)('%s', (strategy) => {
    it.each(cases)('refuses %s without a Redis command', async (_label, header, cookieKind) => {
      const demo = apps[strategy];
      // The jwt strategy reads only Authorization: any cookie is "no credential".
      const kind: Refusal = strategy === 'jwt' ? 'none' : cookieKind;
      const { result } = await world.observe({ redis: 'none' }, () => send(demo, { cookie: header(demo, strategy) }));
      expectRefusal(result, demo, kind);
    });
  });

  it.each(COOKIE_STRATEGIES)('%s: a Cookie header over the HTTP parser limit is a 431 from Node, before the app', async (strategy) => {
    const demo = apps[strategy];
    const { result } = await world.observe({ redis: 'none' }, () => send(demo, { cookie: `${demo.cookieName}=${live(strategy)}; pad=${'p'.repeat(20 * 1024)}` }));
    expect(result.status).toBe(431);
    expect(answer(result).setCookie).toEqual([]);
  });

  it.each(COOKIE_STRATEGIES)('%s: a cookie among many others still works (control)', async (strategy) => {
    const demo = apps[strategy];
    const others = Array.from({ length: 50 }, (_, i) => `c${i}=${base64url(20)}`).join('; ');
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(demo, { cookie: `${others}; ${demo.cookieName}=${live(strategy)}; z=1` }));
    expect(result.status).toBe(200);
    expect(result.body.userId).toBe(aliceName[strategy]);
    expect(answer(result).setCookie).toEqual([]);
  });

  it.each(COOKIE_STRATEGIES)('%s: a name padded with a space is the same cookie (names are trimmed, as RFC 6265 parsers do)', async (strategy) => {
    const demo = apps[strategy];
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(demo, { cookie: `${demo.cookieName} = ${live(strategy)}` }));
    expect(result.status).toBe(200);
    expect(result.body.userId).toBe(aliceName[strategy]);
  });
});

// ---------------------------------------------------------------------------------------------
// Session-id shapes: pattern and hash-tag characters, unicode, wrong alphabet or length
// ---------------------------------------------------------------------------------------------

describe('credential shapes', () => {
  /** Lengths: session-id 32, hashed 43 (base64url). */
  const lengthOf = (strategy: StrategyName): number => (strategy === 'hashed' ? 43 : 32);
  type ShapeCase = [label: string, value: (strategy: StrategyName) => string];
  const fill = (strategy: StrategyName, middle: string): string => {
    const len = lengthOf(strategy);
    const body = base64url(len);
    return `${middle}${body}`.slice(0, len);
  };
  const cases: ShapeCase[] = [
    ['an opening brace (hash tag)', (s) => fill(s, '{')],
    ['a closing brace', (s) => `${fill(s, '').slice(0, -1)}}`],
    ['a hash tag around the live store id', (s) => `{${storeIdOf(s)}}`],
    ['a hash tag that moves the slot ("ab}c{d")', (s) => fill(s, 'ab}c{d')],
    ['a Redis glob star', (s) => `${fill(s, '').slice(0, -1)}*`],
    ['a Redis glob question mark', (s) => `${fill(s, '').slice(0, -1)}?`],
    ['a glob character class', (s) => fill(s, '[a-z]')],
    ['a backslash', (s) => fill(s, '\\')],
    ['a colon (key separator)', (s) => fill(s, 'user:')],
    ['a dot (index member separator)', (s) => fill(s, 'a.b')],
    ['standard base64 characters + and /', (s) => fill(s, '+/+/')],
    ['base64 padding', (s) => `${fill(s, '').slice(0, -2)}==`],
    ['a Cyrillic look-alike letter', (s) => `${live(s).slice(0, -1)}\u0430`],
    ['a fullwidth letter', (s) => `${live(s).slice(0, -1)}\uff21`],
    ['an emoji', (s) => `${live(s).slice(0, -2)}\u{1F600}`],
    ['a combining accent', (s) => `${live(s).slice(0, -1)}e\u0301`],
    ['one character too short', (s) => live(s).slice(0, -1)],
    ['one character too long', (s) => `${live(s)}A`],
    ['the length of the other opaque strategy', (s) => base64url(s === 'hashed' ? 32 : 43)],
    ['16 characters', () => base64url(16)],
    ['128 characters', () => base64url(128)],
    ['a JWT-looking value', () => `${base64url(20)}.${base64url(20)}.${base64url(20)}`],
  ];

  describe.each(STRATEGIES)('%s', (strategy) => {
    it.each(cases)('refuses %s without a Redis command', async (_label, value) => {
      const demo = apps[strategy];
      const credential = value(strategy);
      // Non-latin-1 characters cannot be sent in a header as such: send their UTF-8 bytes, as a
      // raw client would (the server sees latin-1 mojibake, which is what we want to test).
      const wire = Buffer.from(credential, 'utf8').toString('latin1');
      const { result } = await world.observe({ redis: 'none' }, () => send(demo, present(demo, wire)));
      expectRefusal(result, demo, 'rejected');
    });

    it('answers a well-formed unknown credential alike, reading Redis once and writing nothing', async () => {
      const demo = apps[strategy];
      const unknown = strategy === 'jwt' ? undefined : flipOne(live(strategy));
      if (unknown === undefined) return; // jwt: see jwt-attacks (an unknown sid needs a signed token)
      const { result, activity } = await world.observe({ redis: 'no-writes' }, () => send(demo, present(demo, unknown)));
      expectRefusal(result, demo, 'rejected');
      expect((activity.commands.evalsha ?? 0) + (activity.commands.eval ?? 0)).toBe(1);
    });

    it('refuses the live credential with its case inverted (one Redis read, no write)', async () => {
      const demo = apps[strategy];
      if (strategy === 'jwt') return; // a JWT with an altered case fails its signature: jwt-attacks
      const swapped = [...live(strategy)].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
      const { result } = await world.observe({ redis: 'no-writes' }, () => send(demo, present(demo, swapped)));
      expectRefusal(result, demo, 'rejected');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Values copied from a Redis dump
// ---------------------------------------------------------------------------------------------

describe('values from a Redis dump', () => {
  /** What an attacker who read Redis has: the key, the handle (m:h) and the user-index member. */
  async function dumpOf(key: StrategyName | 'multi') {
    const demo = apps[key];
    const storeId = storeIdOf(key);
    const sessionKey = `${demo.prefix}{${storeId}}`;
    const handle = (await world.admin.hget(sessionKey, 'm:h'))!;
    expect(handle).toMatch(/^[A-Za-z0-9_-]{22}$/);
    return { storeId, sessionKey, handle, member: `${handle}.${storeId}` };
  }

  it('hashed: the stored SHA-256 used as a cookie does not log in (one read, no write)', async () => {
    const demo = apps.hashed;
    const { storeId } = await dumpOf('hashed');
    expect(storeId).toMatch(/^[A-Za-z0-9_-]{43}$/); // passes the shape check: only the hash step stops it
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(demo, present(demo, storeId)));
    expectRefusal(result, demo, 'rejected');
  });

  it('hashed: no Redis key or value holds the live secret', async () => {
    const entries = [...(await world.snapshot()).values()];
    expect(entries.filter((e) => e.key.includes(live('hashed')) || e.dump.includes(live('hashed')))).toEqual([]);
  });

  it('jwt,session-id: a JWT session id (sid) presented as a session-id cookie is refused (one read, no write)', async () => {
    const demo = apps.multi;
    const { storeId } = await dumpOf('multi');
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(demo, { cookie: `${demo.cookieName}=${storeId}` }));
    // The session exists, but it was issued by the jwt strategy: the cookie strategy must not accept it.
    expect(result.status).toBe(401);
    expect(result.body).toEqual(REJECTED);
  });

  it('session-id: the bare store id is the credential (documented; use hashed when a dump must not log in)', async () => {
    const demo = apps['session-id'];
    const { storeId } = await dumpOf('session-id');
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(demo, present(demo, storeId)));
    expect(result.status).toBe(200);
  });

  type DumpCase = [label: string, pick: (d: Awaited<ReturnType<typeof dumpOf>>) => string];
  const dumpCases: DumpCase[] = [
    ['the full session key', (d) => d.sessionKey],
    ['the handle (m:h)', (d) => d.handle],
    ['the user-index member', (d) => d.member],
    ['the store id in braces', (d) => `{${d.storeId}}`],
  ];
  describe.each(STRATEGIES)('%s', (strategy) => {
    it.each(dumpCases)('refuses %s without a Redis command', async (_label, pick) => {
      const demo = apps[strategy];
      const value = pick(await dumpOf(strategy));
      const { result } = await world.observe({ redis: 'none' }, () => send(demo, present(demo, value)));
      expectRefusal(result, demo, 'rejected');
    });
  });

  it('jwt: the sid copied from the key, sent as a bearer token, is not a JWT (no Redis command)', async () => {
    const demo = apps.jwt;
    const { storeId } = await dumpOf('jwt');
    const { result } = await world.observe({ redis: 'none' }, () => send(demo, { authorization: `Bearer ${storeId}` }));
    expectRefusal(result, demo, 'rejected');
  });
});

// ---------------------------------------------------------------------------------------------
// Headers: malformed bearer, duplicated, both cookie and header
// ---------------------------------------------------------------------------------------------

describe('Authorization header (jwt)', () => {
  type BearerCase = [label: string, value: () => string | string[]];
  const token = () => live('jwt');
  const cases: BearerCase[] = [
    ['the scheme alone', () => 'Bearer'],
    ['the scheme and spaces', () => 'Bearer    '],
    ['no scheme', () => token()],
    ['the scheme glued to the token', () => `Bearer${token()}`],
    ['a tab after the scheme', () => `Bearer\t${token()}`],
    ['another scheme', () => `Token ${token()}`],
    ['Basic credentials', () => `Basic ${Buffer.from('alice:demo-password').toString('base64')}`],
    ['two tokens', () => `Bearer ${token()} ${token()}`],
    ['two bearer credentials in one header', () => `Bearer ${token()}, Bearer ${token()}`],
    ['a quoted token', () => `Bearer "${token()}"`],
    ['a trailing comma', () => `Bearer ${token()},`],
    ['a token of 4097 characters', () => `Bearer ${token()}${'A'.repeat(4097 - token().length)}`],
    ['a token of 12 KiB', () => `Bearer ${base64url(12 * 1024)}`],
    ['the live token and a forged one in two headers', () => [`Bearer ${token()}`, `Bearer ${flipOne(token())}`]],
    ['a forged token and the live one in two headers', () => [`Bearer ${flipOne(token())}`, `Bearer ${token()}`]],
    ['the live token twice in two headers', () => [`Bearer ${token()}`, `Bearer ${token()}`]],
  ];

  it.each(cases)('refuses %s without a Redis command', async (_label, value) => {
    const demo = apps.jwt;
    const { result } = await world.observe({ redis: 'none' }, () => send(demo, { authorization: value() }));
    expectRefusal(result, demo, 'rejected');
  });

  it.each([
    ['lower-case scheme', () => `bearer ${token()}`],
    ['upper-case scheme', () => `BEARER ${token()}`],
    ['extra spaces', () => `Bearer   ${token()}  `],
  ])('accepts the live token with %s (RFC 7235: the scheme is case-insensitive)', async (_label, value) => {
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(apps.jwt, { authorization: value() }));
    expect(result.status).toBe(200);
    expect(result.body.userId).toEqual(expect.any(String));
  });

  it('an Authorization header over the HTTP parser limit is a 431 from Node, before the app', async () => {
    const { result } = await world.observe({ redis: 'none' }, () => send(apps.jwt, { authorization: `Bearer ${'a'.repeat(20 * 1024)}` }));
    expect(result.status).toBe(431);
  });
});

describe('both cookie and header', () => {
  it.each(COOKIE_STRATEGIES)('%s: a bearer header carrying the live cookie value is not a credential (cookie apps read cookies only)', async (strategy) => {
    const demo = apps[strategy];
    const { result } = await world.observe({ redis: 'none' }, () => send(demo, { authorization: `Bearer ${live(strategy)}` }));
    expectRefusal(result, demo, 'none');
  });

  it.each(COOKIE_STRATEGIES)('%s: an x-session-id header is not read unless configured', async (strategy) => {
    const demo = apps[strategy];
    const { result } = await world.observe({ redis: 'none' }, () => send(demo, { headers: { 'x-session-id': live(strategy) } }));
    expectRefusal(result, demo, 'none');
  });

  it.each(COOKIE_STRATEGIES)('%s: the live cookie with a garbage bearer header is served (the header is ignored)', async (strategy) => {
    const demo = apps[strategy];
    const { result } = await world.observe({ redis: 'no-writes' }, () =>
      send(demo, { cookie: `${demo.cookieName}=${live(strategy)}`, authorization: 'Bearer {*}' }),
    );
    expect(result.status).toBe(200);
  });

  it.each(COOKIE_STRATEGIES)('%s: a garbage cookie with the live value as bearer is refused', async (strategy) => {
    const demo = apps[strategy];
    const { result } = await world.observe({ redis: 'none' }, () =>
      send(demo, { cookie: `${demo.cookieName}={*}`, authorization: `Bearer ${live(strategy)}` }),
    );
    expectRefusal(result, demo, 'rejected');
  });

  it('jwt: the live bearer with a garbage sid cookie is served (cookies are ignored)', async () => {
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(apps.jwt, { cookie: 'sid={*}', authorization: `Bearer ${live('jwt')}` }));
    expect(result.status).toBe(200);
  });

  it('jwt: a forged bearer with the session id as a cookie is refused', async () => {
    const sid = storeIdOf('jwt');
    const { result } = await world.observe({ redis: 'none' }, () => send(apps.jwt, { cookie: `sid=${sid}`, authorization: `Bearer ${flipOne(live('jwt'))}` }));
    expectRefusal(result, apps.jwt, 'rejected');
  });

  // A credential its strategy refuses unseen is passed on to the next one (strategies may share a
  // cookie or header: test/shared-credential.e2e-spec.ts), which opens only what it issued itself.
  it("jwt,session-id: a forged bearer is not rescued by a cookie naming the JWT's session (session-id refuses another strategy's session)", async () => {
    const demo = apps.multi;
    const sid = storeIdOf('multi');
    const { result } = await world.observe({ redis: 'no-writes' }, () =>
      send(demo, { authorization: `Bearer ${flipOne(live('multi'))}`, cookie: `${demo.cookieName}=${sid}` }),
    );
    expect(result.status).toBe(401);
    expect(result.body).toEqual(REJECTED);
  });

  it('jwt,session-id: the live bearer with an unknown cookie is served by the bearer', async () => {
    const demo = apps.multi;
    const { result } = await world.observe({ redis: 'no-writes' }, () =>
      send(demo, { authorization: `Bearer ${live('multi')}`, cookie: `${demo.cookieName}=${base64url(32)}` }),
    );
    expect(result.status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// On the wire: what a browser or supertest would never send
// ---------------------------------------------------------------------------------------------

describe('raw requests', () => {
  it.each(COOKIE_STRATEGIES)('%s: two Cookie lines, one with the live credential, one with other cookies, are served', async (strategy) => {
    const demo = apps[strategy];
    const { result } = await world.observe({ redis: 'no-writes' }, () =>
      rawHttp(demo, 'GET /me HTTP/1.1', [`Cookie: theme=dark`, `Cookie: ${demo.cookieName}=${live(strategy)}`]),
    );
    expect(result.status).toBe(200);
  });

  it.each(COOKIE_STRATEGIES)('%s: two Cookie lines that both carry the name are refused without a Redis command', async (strategy) => {
    const demo = apps[strategy];
    const { result } = await world.observe({ redis: 'none' }, () =>
      rawHttp(demo, 'GET /me HTTP/1.1', [`Cookie: ${demo.cookieName}=${live(strategy)}`, `Cookie: ${demo.cookieName}=${flipOne(live(strategy))}`]),
    );
    expect(result.status).toBe(401);
    expect(result.head).toMatch(new RegExp(`^Set-Cookie: ${demo.cookieName}=; Max-Age=0;`, 'm'));
  });

  it.each(STRATEGIES)('%s: a raw CR inside a header is a 400 from the HTTP parser (no Redis command, no reflected header)', async (strategy) => {
    const demo = apps[strategy];
    const header = strategy === 'jwt' ? `Authorization: Bearer ${live(strategy)}\rSet-Cookie: evil=1` : `Cookie: ${demo.cookieName}=${live(strategy)}\rSet-Cookie: evil=1`;
    const { result } = await world.observe({ redis: 'none' }, () => rawHttp(demo, 'GET /me HTTP/1.1', [header]));
    expect(result.status).toBe(400);
    expect(result.head).not.toMatch(/evil/);
  });

  it.each(STRATEGIES)('%s: a NUL byte inside a header is a 400 from the HTTP parser', async (strategy) => {
    const demo = apps[strategy];
    const header = strategy === 'jwt' ? `Authorization: Bearer ${live(strategy)}\u0000` : `Cookie: ${demo.cookieName}=${live(strategy)}\u0000`;
    const { result } = await world.observe({ redis: 'none' }, () => rawHttp(demo, 'GET /me HTTP/1.1', [header]));
    expect(result.status).toBe(400);
  });

  it('jwt: two Authorization lines (the first one live) are refused: Node keeps only the first, the library sees both', async () => {
    const { result } = await world.observe({ redis: 'none' }, () =>
      rawHttp(apps.jwt, 'GET /me HTTP/1.1', [`Authorization: Bearer ${live('jwt')}`, 'Authorization: Basic YWxpY2U6eA==']),
    );
    expect(result.status).toBe(401);
  });
});
