/**
 * Hostile input, part 6: unsafe configuration is refused at startup (SessionModule.forRoot in a
 * Test module, one clear error naming the option, never echoing a secret), and the session cookie
 * follows RFC 6265bis and OWASP by default: HttpOnly, Secure, SameSite=Lax, Path=/, the __Host-
 * prefix, no Domain, a Max-Age bounded by the session; every clearing uses the same attributes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AllowAnonymous, Session, SessionConfigError, SessionModule, type SessionModuleOptions, type UserSession } from '@app/session';
import { parseSetCookie, uniqueUser, type DemoApp, type SetCookie } from '../support/demo-app.js';
import { REJECTED, World, answer, send } from './harness.js';

const world = new World();

beforeAll(async () => {
  await world.start();
});

afterEach(async () => {
  await world.checkInvariants();
});

afterAll(async () => {
  await world.stop();
});

// ---------------------------------------------------------------------------------------------
// Startup refusals
// ---------------------------------------------------------------------------------------------

const SECRET_31 = 's3cr3t-of-thirty-one-bytes-xyzw';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_PEM = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;

/** The startup error of SessionModule.forRoot(options), or null when it starts (closed again at once). */
async function startupError(options: Record<string, unknown>): Promise<Error | null> {
  try {
    const moduleRef = await Test.createTestingModule({ imports: [SessionModule.forRoot({ store: 'memory', ...options } as SessionModuleOptions)] }).compile();
    await moduleRef.close();
    return null;
  } catch (error) {
    return error as Error;
  }
}

describe('startup refuses unsafe configuration', () => {
  const jwt = (extra: Record<string, unknown>) => ({ strategy: 'jwt', jwt: extra });
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an empty JWT secret', jwt({ secret: '' }), /jwt\.secret must be at least 32 bytes of UTF-8 \(got 0 bytes\)/],
    ['a JWT secret of 31 bytes', jwt({ secret: SECRET_31 }), /jwt\.secret must be at least 32 bytes of UTF-8 \(got 31 bytes\)/],
    ['a JWT secret of 10 euro signs (30 bytes)', jwt({ secret: '\u20ac'.repeat(10) }), /jwt\.secret must be at least 32 bytes of UTF-8 \(got 30 bytes\)/],
    ['an empty Buffer as JWT secret (jsonwebtoken would accept a token forged with it)', jwt({ secret: Buffer.alloc(0) }), /jwt\.secret must be a string/],
    ['a Buffer as JWT secret', jwt({ secret: Buffer.alloc(64, 1) }), /jwt\.secret must be a string/],
    ['a number as JWT secret', jwt({ secret: 12345678901234567890123456789012345 }), /jwt\.secret must be a string/],
    ['the jwt strategy without jwt options', { strategy: 'jwt' }, /jwt is required when strategy includes 'jwt'/],
    ['jwt options without secret or keys', jwt({ issuer: 'x' }), /jwt must have exactly one of secret or keys/],
    ['both a secret and keys', jwt({ secret: 'k'.repeat(40), keys: [{ kid: 'a', secret: 'k'.repeat(40) }] }), /jwt must have exactly one of secret or keys/],
    ['a short secret among rotating keys', jwt({ keys: [{ kid: 'new', secret: 'k'.repeat(40) }, { kid: 'old', secret: 'x9Q!z' }] }), /jwt\.keys\[1\]\.secret must be at least 32 bytes/],
    ['a kid used twice', jwt({ keys: [{ kid: 'a', secret: 'k'.repeat(40) }, { kid: 'a', secret: 'j'.repeat(40) }] }), /jwt\.keys\[1\]\.kid must be unique/],
    ['a kid with a path traversal', jwt({ keys: [{ kid: '../../dev/null', secret: 'k'.repeat(40) }] }), /jwt\.keys\[0\]\.kid must be 1-64 of/],
    ["alg 'none'", jwt({ secret: 'k'.repeat(40), algorithms: ['none'] }), /jwt\.algorithms must be a non-empty list .*'none' is never allowed/],
    ["'none' next to HS256", jwt({ secret: 'k'.repeat(40), algorithms: ['HS256', 'none'] }), /jwt\.algorithms must be a non-empty list/],
    ['an empty algorithm list', jwt({ secret: 'k'.repeat(40), algorithms: [] }), /jwt\.algorithms must be a non-empty list/],
    ['HS256 mixed with RS256 (key confusion)', jwt({ keys: [{ kid: 'a', secret: 'k'.repeat(40), publicKey: PUBLIC_PEM }], algorithms: ['HS256', 'RS256'] }), /must not mix HMAC \(HS\*\) and public-key algorithms/],
    ['a secret with RS256', jwt({ secret: 'k'.repeat(40), algorithms: ['RS256'] }), /jwt\.secret only works with HS\* algorithms/],
    ['RS256 keys without a private key to sign', jwt({ keys: [{ kid: 'a', publicKey: PUBLIC_PEM }], algorithms: ['RS256'] }), /jwt\.keys\[0\]\.privateKey must be a PEM private key/],
    ['SameSite=None without Secure', { cookie: { sameSite: 'none', secure: false } }, /cookie\.sameSite 'none' requires cookie\.secure true/],
    ['a __Host- cookie with a Domain', { cookie: { name: '__Host-sid', domain: 'example.com' } }, /cookie\.domain must not be set with the __Host- prefix/],
    ['a __Host- cookie with a Path other than /', { cookie: { name: '__Host-sid', path: '/app' } }, /cookie\.path must be '\/' with the __Host- prefix/],
    ['a __Host- cookie without Secure', { cookie: { name: '__Host-sid', secure: false } }, /cookie\.name with the __Host- prefix requires cookie\.secure true/],
    ['a __Secure- cookie without Secure', { cookie: { name: '__Secure-sid', secure: false } }, /cookie\.name with the __Secure- prefix requires cookie\.secure true/],
    ['httpOnly: false', { cookie: { httpOnly: false } }, /cookie\.httpOnly must not be false/],
    ['a cookie name with a semicolon (attribute injection)', { cookie: { name: 'sid; Domain=evil.example' } }, /cookie\.name must be a cookie name token/],
    ['a cookie name with an equals sign', { cookie: { name: 'sid=x' } }, /cookie\.name must be a cookie name token/],
    ['a cookie domain with a semicolon', { cookie: { domain: 'example.com; SameSite=None' } }, /cookie\.domain must be a domain name/],
    ['a cookie path with a semicolon', { cookie: { path: '/; HttpOnly' } }, /cookie\.path must be a path starting with \//],
    ['a keyPrefix with braces (Cluster hash tag)', { keyPrefix: '{app}:' }, /keyPrefix must be at most 64 characters without braces or spaces/],
    ['a keyPrefix with a closing brace', { keyPrefix: 'app}' }, /keyPrefix must be at most 64 characters without braces/],
    ['a keyPrefix with a space', { keyPrefix: 'my app:' }, /keyPrefix must be at most 64 characters without braces or spaces/],
    ['an idle TTL longer than the absolute TTL', { ttl: { idle: 600, absolute: 60 } }, /ttl\.idle must not exceed ttl\.absolute \(got idle 600 > absolute 60\)/],
    ['a negative idle TTL', { ttl: { idle: -5 } }, /ttl\.idle must be a positive integer \(got -5\)/],
    ['maxDataBytes 0', { maxDataBytes: 0 }, /maxDataBytes must be an integer of at least 256/],
    ['maxSessionsPerUser 0', { maxSessionsPerUser: 0 }, /maxSessionsPerUser must be a positive integer/],
    ['an unknown option (a typo)', { cookies: { secure: false } }, /cookies is not a known option/],
    ['cookies off without a header', { cookie: false }, /header must be set when cookie is false/],
    ['a jwt cookie transport with cookies off', { strategy: 'jwt', cookie: false, jwt: { secret: 'k'.repeat(40), transport: 'cookie' } }, /cookie must not be false when jwt\.transport is 'cookie'/],
    ['an unknown strategy name', { strategy: 'none' }, /strategy must be 'session-id', 'jwt', 'hashed' or a strategy class/],
    ['a redis URL that is not redis://', { store: 'redis', redis: { url: 'http://127.0.0.1:6380' } }, /redis\.url must be a redis:\/\/ or rediss:\/\/ URL/],
  ])('refuses %s', async (_label, options, message) => {
    const error = await startupError(options);
    expect(error).toBeInstanceOf(SessionConfigError);
    expect(error!.message).toMatch(/^session: /);
    expect(error!.message).toMatch(message);
    // A secret is never echoed in the error (it may end up in logs).
    const secrets = JSON.stringify(options).match(/"(?:secret)":"([^"]{4,})"/g) ?? [];
    for (const s of secrets) expect(error!.message).not.toContain(JSON.parse(`{${s}}`).secret);
    world.guard.assertClean();
  });

  it('lists every problem at once', async () => {
    const error = await startupError({ strategy: 'jwt', jwt: { secret: 'short' }, keyPrefix: '{x}', cookie: { sameSite: 'none', secure: false } });
    expect(error!.message.split('\n')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/jwt\.secret/),
        expect.stringMatching(/keyPrefix/),
        expect.stringMatching(/cookie\.sameSite 'none'/),
      ]),
    );
  });

  it.each<[string, Record<string, unknown>]>([
    ['a 32-byte JWT secret', { strategy: 'jwt', jwt: { secret: 's'.repeat(32) } }],
    ['11 euro signs (33 bytes)', { strategy: 'jwt', jwt: { secret: '\u20ac'.repeat(11) } }],
    ['SameSite=None with Secure', { cookie: { sameSite: 'none', secure: true } }],
    ['a Domain cookie (then named sid, not __Host-)', { cookie: { domain: 'example.com' } }],
  ])('starts with %s (control)', async (_label, options) => {
    expect(await startupError(options)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Cookie defaults
// ---------------------------------------------------------------------------------------------

function onlyCookie(res: Parameters<typeof answer>[0], name: string): SetCookie {
  const cookies = answer(res).setCookie.map(parseSetCookie);
  expect(cookies.map((c) => c.name)).toEqual([name]);
  return cookies[0];
}

/** The attributes of a secure default cookie (RFC 6265bis, OWASP), Max-Age aside. */
const SECURE_DEFAULTS = { path: '/', httponly: true, secure: true, samesite: 'Lax' };

describe.each(['session-id', 'hashed'] as const)('cookie defaults of the demo with COOKIE_SECURE unset (%s)', (strategy) => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await world.boot(strategy, { label: 'cookie', env: { COOKIE_SECURE: undefined } });
  });

  /** A login's cookie, its attributes without Max-Age, and Max-Age as a number. */
  async function login() {
    const client = demo.client();
    const { result: res } = await world.observe({ changes: [new RegExp(`^${demo.prefix}`)] }, () => client.login(uniqueUser('cookie')));
    return { client, res, cookie: onlyCookie(res, '__Host-sid') };
  }

  it('login sets __Host-sid; HttpOnly; Secure; SameSite=Lax; Path=/; no Domain; Max-Age = the absolute TTL', async () => {
    const { cookie } = await login();
    const { 'max-age': maxAge, ...rest } = Object.fromEntries(cookie.attributes);
    expect(rest).toEqual(SECURE_DEFAULTS);
    expect(Number(maxAge)).toBeGreaterThan(604800 - 5);
    expect(Number(maxAge)).toBeLessThanOrEqual(604800);
    expect(cookie.value).toMatch(strategy === 'hashed' ? /^[A-Za-z0-9_-]{43}$/ : /^[A-Za-z0-9_-]{32}$/);
  });

  it('a guest write sets the same attributes', async () => {
    const guest = demo.client();
    const { result } = await world.observe({ changes: [new RegExp(`^${demo.prefix}`)] }, () => guest.put('/cart/g-1', { qty: 1 }));
    const { 'max-age': _maxAge, ...rest } = Object.fromEntries(onlyCookie(result, '__Host-sid').attributes);
    expect(rest).toEqual(SECURE_DEFAULTS);
  });

  it('logout clears the cookie with the same Path, Secure, HttpOnly and SameSite, Max-Age=0 and an Expires in 1970', async () => {
    const { client } = await login();
    const { result } = await world.observe({ changes: [new RegExp(`^${demo.prefix}`)] }, () =>
      send(demo, { method: 'post', path: '/auth/logout', cookie: `__Host-sid=${client.credential}` }),
    );
    expect(result.status).toBe(204);
    const cleared = onlyCookie(result, '__Host-sid');
    expect(cleared.value).toBe('');
    expect(Object.fromEntries(cleared.attributes)).toEqual({ ...SECURE_DEFAULTS, 'max-age': '0', expires: 'Thu, 01 Jan 1970 00:00:00 GMT' });
  });

  it('a refused credential is cleared with the same attributes', async () => {
    const { result } = await world.observe({ redis: 'none' }, () => send(demo, { cookie: '__Host-sid={forged}' }));
    expect(result.status).toBe(401);
    expect(result.body).toEqual(REJECTED);
    expect(Object.fromEntries(onlyCookie(result, '__Host-sid').attributes)).toEqual({
      ...SECURE_DEFAULTS,
      'max-age': '0',
      expires: 'Thu, 01 Jan 1970 00:00:00 GMT',
    });
  });

  it('a plain "sid" cookie is not read when the app uses __Host-sid (no downgrade by a cookie set over http)', async () => {
    const { client } = await login();
    const { result } = await world.observe({ redis: 'none' }, () => send(demo, { cookie: `sid=${client.credential}` }));
    expect(result.status).toBe(401);
    expect(answer(result).setCookie).toEqual([]);
  });

  it("finds its cookie among a browser's others (spaces, tabs, look-alike names) and refuses a second one among them", async () => {
    const { client } = await login();
    const others = '_ga=GA1.1.123.456; cookie_consent=necessary%2Canalytics;theme=dark; __Host-sidx=x; sid=y; a=b=c';
    const found = await send(demo, { cookie: `${others}; \t__Host-sid =\t${client.credential} ; lang=en` });
    expect(found.status).toBe(200);
    const repeated = await world.observe({ redis: 'none' }, () =>
      send(demo, { cookie: `__Host-sid=${client.credential}; ${others}; __Host-sid=${client.credential}` }),
    );
    expect(repeated.result.status).toBe(401);
  });

  it('rotation at login sends exactly one new cookie, with the same attributes, and no clearing of the new one', async () => {
    const guest = demo.client();
    expect((await guest.put('/cart/r-1', { qty: 1 })).status).toBe(200);
    const before = guest.credential;
    const { result } = await world.observe({ changes: [new RegExp(`^${demo.prefix}`)] }, () => guest.login(uniqueUser('rot')));
    const cookie = onlyCookie(result, '__Host-sid');
    expect(cookie.value).not.toBe(before);
    const { 'max-age': _m, ...rest } = Object.fromEntries(cookie.attributes);
    expect(rest).toEqual(SECURE_DEFAULTS);
  });
});

describe('cookie-less strategies and configured attributes', () => {
  it('jwt: neither login nor logout sets a cookie (bearer only)', async () => {
    const demo = await world.boot('jwt', { label: 'cookie', env: { COOKIE_SECURE: undefined } });
    const client = demo.client();
    const login = await client.login(uniqueUser('jwtc'));
    expect(answer(login).setCookie).toEqual([]);
    const { result } = await world.observe({ changes: [new RegExp(`^${demo.prefix}`)] }, () => client.post('/auth/logout'));
    expect(result.status).toBe(204);
    expect(answer(result).setCookie).toEqual([]);
  });

  @Controller('fx')
  class CookieController {
    @AllowAnonymous()
    @Post('login')
    @HttpCode(200)
    async login(@Body() body: { user: string }, @Session() session: UserSession) {
      await session.logIn(body.user);
      return { ok: true };
    }

    @AllowAnonymous()
    @Post('logout')
    @HttpCode(204)
    logout(@Session() session: UserSession): void {
      session.destroy();
    }

    @Get('me')
    me(@Session() session: UserSession) {
      return { userId: session.userId };
    }
  }

  it.each<[string, Record<string, unknown>, string, Record<string, string | true>]>([
    ['a Domain', { domain: 'example.test' }, 'sid', { domain: 'example.test', path: '/', httponly: true, secure: true, samesite: 'Lax' }],
    ['a Path', { path: '/app' }, 'sid', { path: '/app', httponly: true, secure: true, samesite: 'Lax' }],
    ['SameSite=Strict', { sameSite: 'strict' }, '__Host-sid', { path: '/', httponly: true, secure: true, samesite: 'Strict' }],
    ['SameSite=None (with Secure)', { sameSite: 'none' }, '__Host-sid', { path: '/', httponly: true, secure: true, samesite: 'None' }],
    ['a fixed Max-Age', { maxAge: 900 }, '__Host-sid', { path: '/', httponly: true, secure: true, samesite: 'Lax', 'max-age': '900' }],
  ])('with %s: set and cleared with the same attributes (library fixture)', async (_label, cookieOptions, name, expected) => {
    const app = await world.bootLibrary({ cookie: cookieOptions }, [CookieController]);
    const login = await send(app, { method: 'post', path: '/fx/login', body: { user: uniqueUser('fx') } });
    expect(login.status).toBe(200);
    const set = onlyCookie(login, name);
    const { 'max-age': maxAge, ...setRest } = Object.fromEntries(set.attributes);
    const { 'max-age': expectedMaxAge, ...expectedRest } = expected;
    expect(setRest).toEqual(expectedRest);
    if (expectedMaxAge) expect(maxAge).toBe(expectedMaxAge);
    const { result } = await world.observe({ changes: [new RegExp(`^${app.prefix}`)] }, () =>
      send(app, { method: 'post', path: '/fx/logout', cookie: `${name}=${set.value}` }),
    );
    expect(result.status).toBe(204);
    const cleared = onlyCookie(result, name);
    expect(Object.fromEntries(cleared.attributes)).toEqual({ ...expectedRest, 'max-age': '0', expires: 'Thu, 01 Jan 1970 00:00:00 GMT' });
  });
});
