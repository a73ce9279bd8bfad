// See options/session-options.load.spec.ts: the options module needs the polyfill loaded first.
import 'reflect-metadata';
import { describe, expect, it, jest } from '@jest/globals';
import { JwtService } from '@nestjs/jwt';
import { createHash, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { SessionRequest } from '../http/http-message.js';
import { resolveSessionOptions } from '../options/resolved-options.js';
import type { SessionModuleOptions } from '../options/session-options.interface.js';
import { SessionSignInRequiredError } from '../session.errors.js';
import type { StoredSession } from '../store/session-store.interface.js';
import { HashedTokenStrategy } from './hashed.strategy.js';
import { JwtSessionStrategy } from './jwt.strategy.js';
import { INVALID_CREDENTIAL } from './opaque-token.strategy.js';
import { SessionIdStrategy } from './session-id.strategy.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

const INVALID = { kind: 'invalid', reason: INVALID_CREDENTIAL };
const NONE = { kind: 'none' };
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const sessionId = (): string => randomBytes(24).toString('base64url');
const hashedSecret = (): string => randomBytes(32).toString('base64url');
const request = (headers: Record<string, string | string[]>): SessionRequest => ({ headers });
const resolve = (options: SessionModuleOptions) => resolveSessionOptions({ store: 'memory', ...options });

describe.each([
  { Strategy: SessionIdStrategy, name: 'session-id', length: 32, make: sessionId },
  { Strategy: HashedTokenStrategy, name: 'hashed', length: 43, make: hashedSecret },
])('$name strategy', ({ Strategy, name, length, make }) => {
  const strategy = new Strategy(resolve({}));

  it(`mints a ${length}-character base64url credential, different every time`, async () => {
    const first = await strategy.mint();
    const second = await strategy.mint();
    expect(strategy.name).toBe(name);
    expect(strategy.supportsGuests).toBe(true);
    expect(first.credential).toHaveLength(length);
    expect(first.credential).toMatch(BASE64URL);
    expect(second.credential).not.toBe(first.credential);
  });

  it('verifies its own minted credential to the minted store id', async () => {
    const minted = await strategy.mint();
    expect(await strategy.verify(minted.credential)).toEqual({ kind: 'valid', storeId: minted.storeId });
  });

  it.each([
    ['empty', ''],
    ['one character short', 'a'.repeat(length - 1)],
    ['one character long', 'a'.repeat(length + 1)],
    ['standard base64 characters', `${'a'.repeat(length - 2)}+/`],
    ['base64 padding', `${'a'.repeat(length - 1)}=`],
    ['Cluster hash-tag braces', `{${'a'.repeat(length - 2)}}`],
    ['Redis pattern characters', `${'a'.repeat(length - 1)}*`],
    ['a non-ASCII letter', `${'a'.repeat(length - 1)}é`],
    ['a full-width digit', `${'a'.repeat(length - 1)}１`],
    ['surrounding whitespace', ` ${'a'.repeat(length - 2)} `],
  ])('verify refuses %s', async (_label, credential) => {
    expect(await strategy.verify(credential)).toEqual(INVALID);
  });

  it('verify accepts any well-formed credential (the store decides whether it exists)', async () => {
    const credential = make();
    const check = await strategy.verify(credential);
    expect(check).toMatchObject({ kind: 'valid' });
  });

  it('accepts a session for any user (no extra binding)', () => {
    expect(strategy.accepts({ userId: null } as StoredSession)).toBe(true);
  });
});

describe('SessionIdStrategy store id', () => {
  it('is the credential itself', async () => {
    const strategy = new SessionIdStrategy(resolve({}));
    const minted = await strategy.mint();
    expect(minted.storeId).toBe(minted.credential);
    const credential = sessionId();
    expect(await strategy.verify(credential)).toEqual({ kind: 'valid', storeId: credential });
  });
});

describe('HashedTokenStrategy store id', () => {
  const strategy = new HashedTokenStrategy(resolve({ strategy: 'hashed' }));
  const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('base64url');

  it('is the SHA-256 (base64url) of the credential and never the credential', async () => {
    const minted = await strategy.mint();
    expect(minted.storeId).toBe(sha256(minted.credential));
    expect(minted.storeId).toHaveLength(43);
    expect(minted.storeId).not.toBe(minted.credential);
  });

  it('verify maps a presented secret to its hash', async () => {
    const secret = hashedSecret();
    expect(await strategy.verify(secret)).toEqual({ kind: 'valid', storeId: sha256(secret) });
  });

  it('a hashed store id presented as a credential names a different store id', async () => {
    // Someone who reads store ids (e.g. from a Redis dump) cannot present them as a credential.
    const minted = await strategy.mint();
    const check = await strategy.verify(minted.storeId);
    expect(check).toEqual({ kind: 'valid', storeId: sha256(minted.storeId) });
    expect(check).not.toEqual({ kind: 'valid', storeId: minted.storeId });
  });
});

describe('opaque-token extract', () => {
  const byCookie = new SessionIdStrategy(resolve({}));

  it('reads the __Host-sid cookie among others', async () => {
    const id = sessionId();
    const check = await byCookie.extract(request({ cookie: `theme=dark; __Host-sid=${id}; lang=en` }));
    expect(check).toEqual({ kind: 'valid', storeId: id });
  });

  it('finds nothing without a cookie header or without its cookie', async () => {
    expect(await byCookie.extract(request({}))).toEqual(NONE);
    expect(await byCookie.extract(request({ cookie: `sid=${sessionId()}; x__Host-sid=${sessionId()}` }))).toEqual(NONE);
  });

  it('hashes the cookie value for the hashed strategy', async () => {
    const secret = hashedSecret();
    const strategy = new HashedTokenStrategy(resolve({ strategy: 'hashed' }));
    const check = await strategy.extract(request({ cookie: `__Host-sid=${secret}` }));
    expect(check).toEqual({ kind: 'valid', storeId: createHash('sha256').update(secret).digest('base64url') });
  });

  it('refuses two cookies of the same name (cookie tossing)', async () => {
    const cookie = `__Host-sid=${sessionId()}; __Host-sid=${sessionId()}`;
    expect(await byCookie.extract(request({ cookie }))).toEqual(INVALID);
  });

  it('refuses an over-long cookie header even when it holds a valid id', async () => {
    const cookie = `__Host-sid=${sessionId()}; padding=${'p'.repeat(17 * 1024)}`;
    expect(await byCookie.extract(request({ cookie }))).toEqual(INVALID);
  });

  it('does not percent-decode the cookie value', async () => {
    const id = sessionId();
    // %41 would decode to "A", giving a well-formed id if the value were decoded.
    const encoded = `${id.slice(0, 31)}%41`;
    expect(await byCookie.extract(request({ cookie: `__Host-sid=${encoded}` }))).toEqual(INVALID);
  });

  it('refuses an empty or malformed cookie value', async () => {
    expect(await byCookie.extract(request({ cookie: '__Host-sid=' }))).toEqual(INVALID);
    expect(await byCookie.extract(request({ cookie: '__Host-sid={abc}' }))).toEqual(INVALID);
  });

  it('reads a custom header when configured (and still the cookie)', async () => {
    const strategy = new SessionIdStrategy(resolve({ header: 'x-session-id' }));
    const id = sessionId();
    expect(await strategy.extract(request({ 'x-session-id': id }))).toEqual({ kind: 'valid', storeId: id });
    expect(await strategy.extract(request({ cookie: `__Host-sid=${id}` }))).toEqual({ kind: 'valid', storeId: id });
    expect(await strategy.extract(request({ 'x-session-id': [id, id] }))).toEqual(INVALID);
    // Without the header option, the header is ignored.
    expect(await byCookie.extract(request({ 'x-session-id': id }))).toEqual(NONE);
  });

  it("reads a Bearer token for header: 'authorization'", async () => {
    const strategy = new SessionIdStrategy(resolve({ cookie: false, header: 'authorization' }));
    const id = sessionId();
    expect(await strategy.extract(request({ authorization: `Bearer ${id}` }))).toEqual({ kind: 'valid', storeId: id });
    expect(await strategy.extract(request({ authorization: `Basic ${id}` }))).toEqual(INVALID);
    // cookie: false: a cookie is not read at all.
    expect(await strategy.extract(request({ cookie: `__Host-sid=${id}` }))).toEqual(NONE);
  });
});

describe('JwtSessionStrategy', () => {
  const SECRET = 'jwt-unit-test-secret-0123456789-abcdef';
  const OTHER_SECRET = 'another-secret-of-enough-length-0123456789';
  const ISSUER = 'https://auth.example.test';
  const AUDIENCE = 'web-app';
  const options = resolve({ strategy: 'jwt', jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } });
  const strategy = new JwtSessionStrategy(options);
  const inAnHour = (): number => Date.now() + 3600_000;
  const nowSeconds = (): number => Math.floor(Date.now() / 1000);

  /** A token the strategy accepts, signed by the test; `claims` / `signOptions` break one part. */
  function sign(
    claims: Record<string, unknown> = {},
    signOptions: jwt.SignOptions = {},
    secret: string = SECRET,
  ): string {
    const merged = { algorithm: 'HS256', expiresIn: 600, issuer: ISSUER, audience: AUDIENCE, ...signOptions };
    // jsonwebtoken refuses options present with an undefined value: `undefined` here means "leave out".
    const defined = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined));
    return jwt.sign({ sid: sessionId(), sub: 'alice', ...claims }, secret, defined as jwt.SignOptions);
  }

  const segment = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('mint -> verify round trip gives storeId = sid and userId = sub', async () => {
    const minted = await strategy.mint('alice', inAnHour());
    const payload = jwt.decode(minted.credential) as jwt.JwtPayload;
    expect(minted.storeId).toBe(payload.sid);
    expect(minted.storeId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await strategy.verify(minted.credential)).toEqual({ kind: 'valid', storeId: minted.storeId, userId: 'alice' });
  });

  it('mints a payload with sub, sid, iat, exp, iss and aud and an HS256 header without kid', async () => {
    const before = nowSeconds();
    const minted = await strategy.mint('alice', inAnHour());
    const { header, payload } = jwt.decode(minted.credential, { complete: true }) as jwt.Jwt & { payload: jwt.JwtPayload };
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'sid', 'sub']);
    expect(payload).toMatchObject({ sub: 'alice', iss: ISSUER, aud: AUDIENCE });
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.exp! - payload.iat!).toBeGreaterThan(3590);
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(3600);
  });

  it('never issues a token that outlives the session deadline or the configured lifetime', async () => {
    const short = await strategy.mint('alice', Date.now() + 100_000);
    const shortPayload = jwt.decode(short.credential) as jwt.JwtPayload;
    expect(shortPayload.exp! - shortPayload.iat!).toBeLessThanOrEqual(100);
    expect(shortPayload.exp! - shortPayload.iat!).toBeGreaterThanOrEqual(98);

    const capped = new JwtSessionStrategy(
      resolve({ strategy: 'jwt', jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, expiresIn: 300 } }),
    );
    const payload = jwt.decode((await capped.mint('alice', inAnHour())).credential) as jwt.JwtPayload;
    expect(payload.exp! - payload.iat!).toBe(300);
  });

  it('delivers a cookie that ends with its token when the token is shorter-lived than the session', async () => {
    const cookieFor = async (expiresIn?: number) => {
      const cookies = new JwtSessionStrategy(resolve({ strategy: 'jwt', jwt: { secret: SECRET, transport: 'cookie', ...(expiresIn ? { expiresIn } : {}) } }));
      const deadline = inAnHour();
      const minted = await cookies.mint('alice', deadline);
      const headers: string[] = [];
      cookies.deliver({ headersWritable: true, appendHeader: (_name: string, value: string) => void headers.push(value) }, minted.credential, deadline);
      return Number(/Max-Age=(\d+)/.exec(headers[0] ?? '')?.[1]);
    };
    const short = await cookieFor(300);
    expect(short).toBeGreaterThanOrEqual(298);
    expect(short).toBeLessThanOrEqual(300);
    // Without expiresIn the token lives as long as the session, and so does its cookie.
    expect(await cookieFor()).toBeGreaterThanOrEqual(3597);
  });

  it.each([
    ['no issuer or audience', { secret: SECRET }],
    ['an issuer only', { secret: SECRET, issuer: ISSUER }],
    ['an audience only', { secret: SECRET, audience: AUDIENCE }],
  ])('mints and verifies with %s configured', async (_label, jwtOptions) => {
    const minimal = new JwtSessionStrategy(resolve({ strategy: 'jwt', jwt: jwtOptions }));
    const minted = await minimal.mint('alice', inAnHour());
    expect(await minimal.verify(minted.credential)).toEqual({ kind: 'valid', storeId: minted.storeId, userId: 'alice' });
  });

  it('checks the signature of a token once; a repeat is answered from the verified-token cache until exp', async () => {
    const fresh = new JwtSessionStrategy(options);
    const minted = await fresh.mint('alice', inAnHour());
    const { exp } = jwt.decode(minted.credential) as jwt.JwtPayload;
    const verifyAsync = jest.spyOn(JwtService.prototype, 'verifyAsync');
    try {
      const first = await fresh.verify(minted.credential);
      const second = await fresh.verify(minted.credential);
      expect(second).toEqual(first);
      expect(second).toEqual({ kind: 'valid', storeId: minted.storeId, userId: 'alice' });
      expect(verifyAsync).toHaveBeenCalledTimes(1);
      // The second its exp is reached, the cached token is refused like any expired one.
      jest.useFakeTimers({ now: exp! * 1000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      expect(await fresh.verify(minted.credential)).toEqual(INVALID);
      jest.setSystemTime(exp! * 1000 - 1);
      expect(await fresh.verify(minted.credential)).toEqual({ kind: 'valid', storeId: minted.storeId, userId: 'alice' });
    } finally {
      jest.useRealTimers();
      verifyAsync.mockRestore();
    }
  });

  it('keeps only tokens that verified: a refused token is checked again every time', async () => {
    const fresh = new JwtSessionStrategy(options);
    const forged = sign({}, {}, OTHER_SECRET);
    const verifyAsync = jest.spyOn(JwtService.prototype, 'verifyAsync');
    try {
      expect(await fresh.verify(forged)).toEqual(INVALID);
      expect(await fresh.verify(forged)).toEqual(INVALID);
      expect(verifyAsync).toHaveBeenCalledTimes(2);
    } finally {
      verifyAsync.mockRestore();
    }
  });

  it('mint(null) throws SessionSignInRequiredError: no guest sessions', async () => {
    expect(strategy.supportsGuests).toBe(false);
    await expect(strategy.mint(null, inAnHour())).rejects.toBeInstanceOf(SessionSignInRequiredError);
  });

  it('accepts a token signed by the test with the configured secret (baseline for the refusals)', async () => {
    const sid = sessionId();
    expect(await strategy.verify(sign({ sid }))).toEqual({ kind: 'valid', storeId: sid, userId: 'alice' });
  });

  it("refuses alg 'none'", async () => {
    const header = segment({ alg: 'none', typ: 'JWT' });
    const payload = segment({ sid: sessionId(), sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600 });
    expect(await strategy.verify(`${header}.${payload}.`)).toEqual(INVALID);
    // Also with a signature segment copied from a valid token.
    const signature = sign().split('.')[2];
    expect(await strategy.verify(`${header}.${payload}.${signature}`)).toEqual(INVALID);
  });

  it('refuses a token signed with another secret', async () => {
    expect(await strategy.verify(sign({}, {}, OTHER_SECRET))).toEqual(INVALID);
  });

  it('refuses a tampered payload', async () => {
    const [header, , signature] = sign().split('.');
    const payload = segment({ sid: sessionId(), sub: 'mallory', iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600 });
    expect(await strategy.verify(`${header}.${payload}.${signature}`)).toEqual(INVALID);
  });

  it('refuses HS512 when only HS256 is allowed, even with the right secret', async () => {
    expect(await strategy.verify(sign({}, { algorithm: 'HS512' }))).toEqual(INVALID);
  });

  it('refuses an expired token', async () => {
    const expired = sign({ exp: nowSeconds() - 10 }, { expiresIn: undefined });
    expect(await strategy.verify(expired)).toEqual(INVALID);
  });

  it('refuses a token whose nbf is in the future', async () => {
    expect(await strategy.verify(sign({}, { notBefore: 120 }))).toEqual(INVALID);
  });

  it('refuses a wrong issuer or audience, or none at all', async () => {
    expect(await strategy.verify(sign({}, { issuer: 'https://evil.example' }))).toEqual(INVALID);
    expect(await strategy.verify(sign({}, { audience: 'other-app' }))).toEqual(INVALID);
    expect(await strategy.verify(sign({}, { issuer: undefined }))).toEqual(INVALID);
    expect(await strategy.verify(sign({}, { audience: undefined }))).toEqual(INVALID);
  });

  it('refuses a token without exp', async () => {
    const noExp = sign({}, { expiresIn: undefined });
    expect((jwt.decode(noExp) as jwt.JwtPayload).exp).toBeUndefined();
    expect(await strategy.verify(noExp)).toEqual(INVALID);
  });

  it('refuses a missing or malformed sid', async () => {
    expect(await strategy.verify(sign({ sid: undefined }))).toEqual(INVALID);
    expect(await strategy.verify(sign({ sid: 'short' }))).toEqual(INVALID);
    expect(await strategy.verify(sign({ sid: `{${'a'.repeat(30)}}` }))).toEqual(INVALID);
    expect(await strategy.verify(sign({ sid: 12345 }))).toEqual(INVALID);
  });

  it('refuses a missing or malformed sub', async () => {
    expect(await strategy.verify(sign({ sub: undefined }))).toEqual(INVALID);
    expect(await strategy.verify(sign({ sub: 'user{1}' }))).toEqual(INVALID);
  });

  it('refuses a token with a kid when a single secret is configured', async () => {
    expect(await strategy.verify(sign({}, { keyid: 'k1' }))).toEqual(INVALID);
  });

  it.each([
    ['empty', ''],
    ['a word', 'token'],
    ['two segments', 'abc.def'],
    ['four segments', 'aa.bb.cc.dd'],
    ['an opaque session id', sessionId()],
    ['segments that are not JSON', 'bm90LWpzb24.bm90LWpzb24.c2ln'],
    ['a header that is JSON but not an object', `${segment([1])}.${segment({})}.c2ln`],
  ])('refuses non-JWT input: %s', async (_label, value) => {
    expect(await strategy.verify(value)).toEqual(INVALID);
  });

  it('extract reads an Authorization Bearer token', async () => {
    const sid = sessionId();
    const token = sign({ sid });
    expect(await strategy.extract(request({ authorization: `Bearer ${token}` }))).toEqual({
      kind: 'valid',
      storeId: sid,
      userId: 'alice',
    });
    expect(await strategy.extract(request({}))).toEqual(NONE);
    expect(await strategy.extract(request({ authorization: `Basic ${token}` }))).toEqual(INVALID);
  });

  it('accepts a session only for the user named by sub', () => {
    const check = { kind: 'valid', storeId: sessionId(), userId: 'alice' } as const;
    expect(strategy.accepts({ userId: 'alice' } as StoredSession, check)).toBe(true);
    expect(strategy.accepts({ userId: 'bob' } as StoredSession, check)).toBe(false);
    expect(strategy.accepts({ userId: null } as StoredSession, check)).toBe(false);
  });

  describe('with rotating keys', () => {
    const NEW = 'new-signing-secret-0123456789-abcdefgh';
    const OLD = 'old-signing-secret-0123456789-abcdefgh';
    const rotating = new JwtSessionStrategy(
      resolve({
        strategy: 'jwt',
        jwt: { keys: [{ kid: 'key-2024', secret: NEW }, { kid: 'key-2023', secret: OLD }], issuer: ISSUER, audience: AUDIENCE },
      }),
    );

    it('signs with the first key and names it in the kid header', async () => {
      const minted = await rotating.mint('alice', inAnHour());
      const { header } = jwt.decode(minted.credential, { complete: true }) as jwt.Jwt;
      expect(header).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'key-2024' });
      expect(() => jwt.verify(minted.credential, NEW, { algorithms: ['HS256'] })).not.toThrow();
      expect(await rotating.verify(minted.credential)).toEqual({ kind: 'valid', storeId: minted.storeId, userId: 'alice' });
    });

    it('still accepts a token signed with the old (second) key', async () => {
      const sid = sessionId();
      const token = sign({ sid }, { keyid: 'key-2023' }, OLD);
      expect(await rotating.verify(token)).toEqual({ kind: 'valid', storeId: sid, userId: 'alice' });
    });

    it('refuses an unknown kid, a missing kid and a kid that does not match the signing key', async () => {
      expect(await rotating.verify(sign({}, { keyid: 'key-2022' }, OLD))).toEqual(INVALID);
      expect(await rotating.verify(sign({}, {}, NEW))).toEqual(INVALID);
      expect(await rotating.verify(sign({}, { keyid: 'key-2024' }, OLD))).toEqual(INVALID);
    });
  });
});

describe('VerifiedTokenCache', () => {
  const check = (storeId: string) => ({ kind: 'valid', storeId, userId: 'alice' }) as const;

  it('answers until the second before exp, then forgets the token', () => {
    const cache = new VerifiedTokenCache(10);
    cache.set('t', check('a'), 1000);
    expect(cache.get('t', 999)).toEqual(check('a'));
    expect(cache.get('t', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries, dropping the oldest first', () => {
    const cache = new VerifiedTokenCache(2);
    cache.set('a', check('a'), 2000);
    cache.set('b', check('b'), 2000);
    cache.set('c', check('c'), 2000);
    expect([cache.get('a', 1), cache.get('b', 1)?.storeId, cache.get('c', 1)?.storeId]).toEqual([undefined, 'b', 'c']);
    expect(cache.size).toBe(2);
  });

  it('hands out a frozen copy, so no caller can change what the next request sees', () => {
    const cache = new VerifiedTokenCache(1);
    const original = { kind: 'valid', storeId: 'a', userId: 'alice' } as { kind: 'valid'; storeId: string; userId: string };
    cache.set('t', original, 2000);
    original.storeId = 'changed';
    const cached = cache.get('t', 1)!;
    expect(cached.storeId).toBe('a');
    expect(Object.isFrozen(cached)).toBe(true);
  });
});
