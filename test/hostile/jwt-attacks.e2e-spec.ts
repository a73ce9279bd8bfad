/**
 * Hostile input, part 2: the JWT attacks of RFC 8725 against the demo's jwt strategy (HS256 with one
 * secret), tokens crafted with a second library (`jose`), and two fixture apps on the library for
 * what the demo cannot configure: RS256 (HS/RS key confusion) and named rotating HS keys (`kid`).
 *
 * Every forged token names alice's live session (her `sid` and `sub`), so the property under test
 * is the only reason for a refusal; a control token with the same claims, correctly signed with
 * `jose`, is accepted.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CompactEncrypt, SignJWT, UnsecuredJWT, exportJWK, type CryptoKey, type JWK } from 'jose';
import { AllowAnonymous, Session, type UserSession } from '@app/session';
import { DEMO_AUDIENCE, DEMO_ISSUER, JWT_SECRET, uniqueUser, type Client, type DemoApp } from '../support/demo-app.js';
import { REJECTED, World, base64url, send } from './harness.js';

const world = new World();
let demo: DemoApp;
let alice: Client;
let aliceUser: string;
let aliceSid: string;
/** A signed-out session: its token is well signed and unexpired, its session is gone. */
let revokedToken: string;

/** Counts requests to the jku / x5u URLs we put in tokens: the app must never fetch them. */
let keyServer: Server;
let keyServerHits = 0;
let keyServerUrl: string;

const encoder = new TextEncoder();
const SECRET = encoder.encode(JWT_SECRET);
const now = (): number => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  await world.start();
  keyServer = createServer((_req, res) => {
    keyServerHits++;
    res.end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
  keyServerUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;

  demo = await world.boot('jwt', { label: 'jwt' });
  alice = demo.client();
  aliceUser = uniqueUser('alice');
  await alice.login(aliceUser);
  expect((await alice.put('/cart/book-1', { qty: 1 })).status).toBe(200);
  aliceSid = claimsOf(alice.credential!).sid as string;

  const gone = demo.client();
  await gone.login(aliceUser);
  revokedToken = gone.credential!;
  expect((await gone.post('/auth/logout')).status).toBe(204);
});

afterEach(async () => {
  await world.checkInvariants();
});

afterAll(async () => {
  await world.stop();
  await new Promise<void>((resolve) => keyServer.close(() => resolve()));
});

const part = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));

/** Alice's claims, valid for 10 minutes; `patch` changes some (undefined removes one). */
function claims(patch: Record<string, unknown> = {}): Record<string, unknown> {
  const merged: Record<string, unknown> = { sub: aliceUser, sid: aliceSid, iss: DEMO_ISSUER, aud: DEMO_AUDIENCE, iat: now(), exp: now() + 600, ...patch };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return merged;
}

/** A compact JWS signed by hand (any header, any payload bytes), HMAC with `secret`. */
function hmacToken(header: unknown, payload: unknown, secret: string | Uint8Array = JWT_SECRET, hash = 'sha256'): string {
  const input = `${part(header)}.${part(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

/** jose, HS256 with the demo's secret: what an honest second implementation produces. */
const joseHs = (payload: Record<string, unknown>, header: Record<string, unknown> = {}, key: Uint8Array = SECRET, alg = 'HS256') =>
  new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', ...header }).sign(key);

const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const attackerEd = generateKeyPairSync('ed25519');
const asymmetric = (alg: string, key: unknown, header: Record<string, unknown> = {}, payload = claims()) =>
  new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', ...header }).sign(key as CryptoKey);

/** What a forged token is presented with, and how the app must answer. */
async function refuse(token: string, redis: 'none' | 'no-writes' = 'none'): Promise<void> {
  const hitsBefore = keyServerHits;
  const { result } = await world.observe({ redis }, () => send(demo, { authorization: `Bearer ${token}` }));
  expect(result.status).toBe(401);
  expect(result.body).toEqual(REJECTED);
  expect(result.headers['set-cookie']).toBeUndefined();
  expect(keyServerHits).toBe(hitsBefore);
}

describe('controls', () => {
  it('accepts alice\'s own token', async () => {
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(demo, { authorization: `Bearer ${alice.credential}` }));
    expect(result.status).toBe(200);
    expect(result.body.userId).toBe(aliceUser);
  });

  it('accepts the same claims signed HS256 by jose (a second JWT library)', async () => {
    const token = await joseHs(claims());
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(demo, { authorization: `Bearer ${token}` }));
    expect(result.status).toBe(200);
    expect(result.body.userId).toBe(aliceUser);
  });

  it('accepts an audience list that includes ours (RFC 7519 section 4.1.3)', async () => {
    const token = await joseHs(claims({ aud: ['other', DEMO_AUDIENCE] }));
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(demo, { authorization: `Bearer ${token}` }));
    expect(result.status).toBe(200);
  });
});

describe('alg: none and unsigned tokens', () => {
  it.each([
    ['jose UnsecuredJWT', async () => new UnsecuredJWT(claims()).encode()],
    ['alg "none" with the signature of a live token', async () => `${part({ alg: 'none', typ: 'JWT' })}.${part(claims())}.${alice.credential!.split('.')[2]}`],
    ['alg "None"', async () => `${part({ alg: 'None', typ: 'JWT' })}.${part(claims())}.`],
    ['alg "NONE"', async () => `${part({ alg: 'NONE' })}.${part(claims())}.`],
    ['alg "nOnE"', async () => `${part({ alg: 'nOnE' })}.${part(claims())}.`],
    ['the live token with its signature stripped', async () => alice.credential!.replace(/[^.]+$/, '')],
    ['no alg at all', async () => hmacToken({ typ: 'JWT' }, claims())],
    ['alg as a list', async () => hmacToken({ alg: ['HS256'] }, claims())],
    ['alg in lower case', async () => hmacToken({ alg: 'hs256' }, claims())],
    ['alg with a trailing space', async () => hmacToken({ alg: 'HS256 ' }, claims())],
  ])('refuses %s', async (_label, make) => {
    await refuse(await make());
  });
});

describe('wrong algorithm and key confusion', () => {
  it.each([
    ['HS384 with the right secret', () => joseHs(claims(), {}, SECRET, 'HS384')],
    ['HS512 with the right secret', () => joseHs(claims(), {}, SECRET, 'HS512')],
    ['RS256 with an attacker key', () => asymmetric('RS256', attacker.privateKey)],
    ['PS256 with an attacker key', () => asymmetric('PS256', attacker.privateKey)],
    ['ES256 with an attacker key', () => asymmetric('ES256', attackerEc.privateKey)],
    ['EdDSA with an attacker key', () => asymmetric('EdDSA', attackerEd.privateKey)],
    ['an RS256 signature under an HS256 header', async () => {
      const rs = await asymmetric('RS256', attacker.privateKey);
      const [, payload, signature] = rs.split('.');
      return `${part({ alg: 'HS256', typ: 'JWT' })}.${payload}.${signature}`;
    }],
    ['HS256 with the attacker public key PEM as the secret', async () =>
      hmacToken({ alg: 'HS256', typ: 'JWT' }, claims(), attacker.publicKey.export({ type: 'spki', format: 'pem' }) as string)],
    ['HS256 with an empty key', async () => hmacToken({ alg: 'HS256', typ: 'JWT' }, claims(), '')],
    ['HS256 with a guessable key ("secret")', () => joseHs(claims(), {}, encoder.encode('secret'))],
    ['HS256 with the first 31 bytes of the secret', () => joseHs(claims(), {}, SECRET.slice(0, 31))],
    ['HS256 with the secret and a trailing newline', () => joseHs(claims(), {}, encoder.encode(`${JWT_SECRET}\n`))],
  ])('refuses %s', async (_label, make) => {
    await refuse(await make());
  });
});

describe('kid, jku, x5u, jwk and crit headers', () => {
  it.each([
    ['kid path traversal to /dev/null, signed with an empty key', async () => hmacToken({ alg: 'HS256', kid: '../../../../../../dev/null' }, claims(), '')],
    ['kid path traversal, signed with the right secret', async () => hmacToken({ alg: 'HS256', kid: '../../../../etc/passwd' }, claims())],
    ['kid naming a process file', async () => hmacToken({ alg: 'HS256', kid: '/proc/self/environ' }, claims(), '')],
    ['kid with SQL', async () => hmacToken({ alg: 'HS256', kid: "x' UNION SELECT 'secret" }, claims(), 'secret')],
    ['kid "__proto__"', async () => hmacToken({ alg: 'HS256', kid: '__proto__' }, claims())],
    ['kid "constructor"', async () => hmacToken({ alg: 'HS256', kid: 'constructor' }, claims())],
    ['an empty kid', async () => hmacToken({ alg: 'HS256', kid: '' }, claims())],
    ['a null kid', async () => hmacToken({ alg: 'HS256', kid: null }, claims())],
    ['a numeric kid', async () => hmacToken({ alg: 'HS256', kid: 0 }, claims())],
    ['an unknown kid, signed with the right secret (the demo has one unnamed key)', () => joseHs(claims(), { kid: 'k1' })],
    ['jku pointing at a key set we serve, RS256 by the attacker', () => asymmetric('RS256', attacker.privateKey, { jku: `${keyServerUrl}/jwks.json` })],
    ['x5u pointing at a certificate we serve, RS256 by the attacker', () => asymmetric('RS256', attacker.privateKey, { x5u: `${keyServerUrl}/cert.pem` })],
    ['an embedded jwk of the attacker key (CVE-2018-0114)', async () =>
      asymmetric('RS256', attacker.privateKey, { jwk: (await exportJWK(attacker.publicKey)) as JWK })],
    ['an embedded x5c chain, RS256 by the attacker', () => asymmetric('RS256', attacker.privateKey, { x5c: [base64url(300)] })],
    ['jku, signed with the right secret', () => joseHs(claims(), { jku: `${keyServerUrl}/jwks.json` })],
    ['x5u, signed with the right secret', () => joseHs(claims(), { x5u: `${keyServerUrl}/cert.pem` })],
    ['an embedded jwk, signed with the right secret', async () => joseHs(claims(), { jwk: { kty: 'oct', k: part(JWT_SECRET) } })],
    ['a crit header naming an extension we do not understand, signed with the right secret', async () =>
      hmacToken({ alg: 'HS256', typ: 'JWT', crit: ['exp-extension'], 'exp-extension': 1 }, claims())],
  ])('refuses %s, and never fetches a key', async (_label, make) => {
    await refuse(await make());
  });
});

describe('claims', () => {
  it.each([
    ['no sub', () => claims({ sub: undefined })],
    ['an empty sub', () => claims({ sub: '' })],
    ['a numeric sub', () => claims({ sub: 42 })],
    ['a sub list', () => claims({ sub: [aliceUser] })],
    ['a sub object', () => claims({ sub: { toString: aliceUser } })],
    ['a sub with braces (hash tag)', () => claims({ sub: `{${aliceUser}}` })],
    ['a sub with a space', () => claims({ sub: `${aliceUser} ` })],
    ['a sub with a control character', () => claims({ sub: `${aliceUser}\u0000` })],
    ['a sub of 129 characters', () => claims({ sub: 'a'.repeat(129) })],
    ['no sid', () => claims({ sid: undefined })],
    ['a numeric sid', () => claims({ sid: 123 })],
    ['a sid one character short', () => claims({ sid: aliceSid.slice(1) })],
    ['a sid one character long', () => claims({ sid: `${aliceSid}A` })],
    ['a sid in braces', () => claims({ sid: `{${aliceSid.slice(2)}}` })],
    ['a sid with a glob star', () => claims({ sid: `${aliceSid.slice(1)}*` })],
    ['the sid as a full key name', () => claims({ sid: `${demo.prefix}{${aliceSid}}` })],
    ['no exp', () => claims({ exp: undefined })],
    ['an exp in the past', () => claims({ exp: now() - 1 })],
    ['an exp as a string', () => claims({ exp: String(now() + 600) })],
    ['a null exp', () => claims({ exp: null })],
    ['no iss', () => claims({ iss: undefined })],
    ['a wrong iss', () => claims({ iss: 'https://evil.example' })],
    ['an iss list', () => claims({ iss: [DEMO_ISSUER] })],
    ['no aud', () => claims({ aud: undefined })],
    ['a wrong aud', () => claims({ aud: 'other-app' })],
    ['an nbf in the future', () => claims({ nbf: now() + 120 })],
    ['an nbf as a string', () => claims({ nbf: String(now() - 10) })],
  ])('refuses a correctly signed token with %s, before any Redis command', async (_label, payload) => {
    await refuse(await joseHs(payload()));
  });

  it.each([
    ['a sub that is not the session user', () => claims({ sub: uniqueUser('mallory') })],
    ['a well-formed sid that names no session', () => claims({ sid: base64url(32) })],
    ['the sid of a signed-out session', () => claims({ sid: claimsOf(revokedToken).sid })],
  ])('refuses a correctly signed token with %s (one Redis read, no write)', async (_label, payload) => {
    await refuse(await joseHs(payload()), 'no-writes');
  });

  it('refuses the signed-out session\'s own token (logout revokes at once)', async () => {
    await refuse(revokedToken, 'no-writes');
  });
});

describe('tampering, size and not-a-JWT', () => {
  const token = () => alice.credential!;
  it.each([
    ['a flipped signature character', () => token().replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))],
    ['the signature of another token', async () => `${token().split('.').slice(0, 2).join('.')}.${(await joseHs(claims({ exp: now() + 601 }))).split('.')[2]}`],
    ['a payload changed to another user', () => `${token().split('.')[0]}.${part(claims({ sub: 'mallory' }))}.${token().split('.')[2]}`],
    ['a header re-encoded with spaces', () => `${part('{"alg": "HS256", "typ": "JWT"}')}.${token().split('.').slice(1).join('.')}`],
    ['signed with another app\'s secret', () => joseHs(claims(), {}, encoder.encode('another-apps-secret-0123456789-abcdefghijkl'))],
    ['base64 padding on the signature', () => `${token()}=`],
    ['standard base64 characters', () => token().replace(/-/g, '+').replace(/_/g, '/') + '+/'],
    ['a payload padded to 3 KiB (over the shape limit)', () => joseHs(claims({ pad: 'x'.repeat(3 * 1024) }))],
    ['a 4097-character token', () => `${token()}${'A'.repeat(4097 - token().length)}`],
    ['a JSON object', () => JSON.stringify(claims())],
    ['base64 of JSON without dots', () => part(claims())],
    ['two segments', () => token().split('.').slice(0, 2).join('.')],
    ['four segments', () => `${token()}.${part('x')}`],
    ['a JWE (five segments), made with jose', async () =>
      new CompactEncrypt(encoder.encode(JSON.stringify(claims()))).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(new Uint8Array(32))],
    ['"null.null.null"', () => 'null.null.null'],
    ['a header that is JSON null', () => `${part('null')}.${part(claims())}.${base64url(43)}`],
    ['a header that is a JSON list', () => `${part([{ alg: 'HS256' }])}.${part(claims())}.${base64url(43)}`],
    ['a correctly signed payload that is not JSON', () => hmacToken({ alg: 'HS256', typ: 'JWT' }, 'not json')],
    ['a correctly signed payload that is a JSON list', () => hmacToken({ alg: 'HS256', typ: 'JWT' }, [claims()])],
    ['a correctly signed payload that is a JSON string', () => hmacToken({ alg: 'HS256', typ: 'JWT' }, JSON.stringify('alice'))],
    ['a random string', () => base64url(40)],
  ])('refuses %s', async (_label, make) => {
    await refuse(await make());
  });

  it('serves a correctly signed token whose payload carries __proto__ and constructor.prototype, polluting nothing', async () => {
    const payload =
      `{"__proto__":{"polluted":true,"isAdmin":true},"constructor":{"prototype":{"polluted":true}},` +
      `"sub":"${aliceUser}","sid":"${aliceSid}","iss":"${DEMO_ISSUER}","aud":"${DEMO_AUDIENCE}","exp":${now() + 600}}`;
    const forged = hmacToken({ alg: 'HS256', typ: 'JWT' }, payload);
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(demo, { authorization: `Bearer ${forged}` }));
    expect(result.status).toBe(200);
    expect(result.body.userId).toBe(aliceUser);
  });

  it('a 20 KiB Authorization header is a 431 from Node, before the app', async () => {
    const { result } = await world.observe({ redis: 'none' }, () => send(demo, { authorization: `Bearer ${base64url(20 * 1024)}` }));
    expect(result.status).toBe(431);
  });
});

// ---------------------------------------------------------------------------------------------
// Fixture apps on the library: RS256 (key confusion) and named rotating HS keys
// ---------------------------------------------------------------------------------------------

@Controller('fx')
class TokenController {
  @AllowAnonymous()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { user: string }, @Session() session: UserSession) {
    await session.logIn(body.user);
    return { token: session.token };
  }

  @Get('me')
  me(@Session() session: UserSession) {
    return { userId: session.userId };
  }
}

describe('RS256 app: HS/RS key confusion', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  let app: DemoApp;
  let user: string;
  let token: string;

  beforeAll(async () => {
    app = await world.bootLibrary(
      {
        strategy: 'jwt',
        jwt: { algorithms: ['RS256'], keys: [{ kid: 'rs-1', publicKey: publicPem, privateKey: privatePem }], issuer: 'fx', audience: 'fx' },
        cookie: { secure: false },
      },
      [TokenController],
    );
    user = uniqueUser('rsuser');
    const login = await send(app, { method: 'post', path: '/fx/login', body: { user } });
    expect(login.status).toBe(200);
    token = login.body.token;
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'rs-1' });
  });

  const rsClaims = (): Record<string, unknown> => ({ ...claimsOf(token), iat: now(), exp: now() + 600 });

  it('accepts its own RS256 token (control)', async () => {
    const { result } = await world.observe({ redis: 'no-writes' }, () => send(app, { path: '/fx/me', authorization: `Bearer ${token}` }));
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ userId: user });
  });

  it.each([
    ['HS256 keyed with the public key PEM', () => hmacToken({ alg: 'HS256', typ: 'JWT', kid: 'rs-1' }, rsClaims(), publicPem)],
    ['HS256 keyed with the public key DER', () => hmacToken({ alg: 'HS256', typ: 'JWT', kid: 'rs-1' }, rsClaims(), rsa.publicKey.export({ type: 'spki', format: 'der' }))],
    ['HS256 keyed with the PEM without its trailing newline', () => hmacToken({ alg: 'HS256', kid: 'rs-1' }, rsClaims(), publicPem.trim())],
    ['alg none under the right kid', () => `${part({ alg: 'none', kid: 'rs-1' })}.${part(rsClaims())}.`],
    ['RS256 by an attacker key under the right kid', () => asymmetric('RS256', attacker.privateKey, { kid: 'rs-1' }, rsClaims())],
    ['RS512 with the right private key (algorithm not allowed)', () => asymmetric('RS512', rsa.privateKey, { kid: 'rs-1' }, rsClaims())],
    ['PS256 with the right private key (algorithm not allowed)', () => asymmetric('PS256', rsa.privateKey, { kid: 'rs-1' }, rsClaims())],
    ['the right key under a kid with a traversal', () => asymmetric('RS256', rsa.privateKey, { kid: '../rs-1' }, rsClaims())],
    ['the right key under the kid in another case', () => asymmetric('RS256', rsa.privateKey, { kid: 'RS-1' }, rsClaims())],
    ['the right key without a kid', () => asymmetric('RS256', rsa.privateKey, {}, rsClaims())],
  ])('refuses %s', async (_label, make) => {
    const { result } = await world.observe({ redis: 'none' }, async () => send(app, { path: '/fx/me', authorization: `Bearer ${await make()}` }));
    expect(result.status).toBe(401);
    expect(result.body).toEqual(REJECTED);
  });
});

describe('HS app with named rotating keys: kid tricks', () => {
  const NEW = 'fixture-new-signing-secret-0123456789-abcd';
  const OLD = 'fixture-old-signing-secret-0123456789-abcd';
  let app: DemoApp;
  let user: string;
  let token: string;

  beforeAll(async () => {
    app = await world.bootLibrary(
      { strategy: 'jwt', jwt: { keys: [{ kid: 'k-new', secret: NEW }, { kid: 'k-old', secret: OLD }], issuer: 'fx', audience: 'fx' }, cookie: { secure: false } },
      [TokenController],
    );
    user = uniqueUser('kiduser');
    token = (await send(app, { method: 'post', path: '/fx/login', body: { user } })).body.token;
  });

  const kidClaims = (): Record<string, unknown> => ({ ...claimsOf(token), iat: now(), exp: now() + 600 });

  it.each([
    ['its own token (kid k-new)', () => token],
    ['the same claims under the old key (kid k-old)', () => joseHs(kidClaims(), { kid: 'k-old' }, encoder.encode(OLD))],
  ])('accepts %s (control)', async (_label, make) => {
    const { result } = await world.observe({ redis: 'no-writes' }, async () => send(app, { path: '/fx/me', authorization: `Bearer ${await make()}` }));
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ userId: user });
  });

  it.each([
    ['the old key under the new kid', () => joseHs(kidClaims(), { kid: 'k-new' }, encoder.encode(OLD))],
    ['the new key under the old kid', () => joseHs(kidClaims(), { kid: 'k-old' }, encoder.encode(NEW))],
    ['no kid', () => joseHs(kidClaims(), {}, encoder.encode(NEW))],
    ['an unknown kid', () => joseHs(kidClaims(), { kid: 'k-2019' }, encoder.encode(NEW))],
    ['a kid with a traversal', () => joseHs(kidClaims(), { kid: '../k-new' }, encoder.encode(NEW))],
    ['a kid with a trailing space', () => joseHs(kidClaims(), { kid: 'k-new ' }, encoder.encode(NEW))],
    ['a kid "__proto__"', () => joseHs(kidClaims(), { kid: '__proto__' }, encoder.encode(NEW))],
    ['a kid list', async () => hmacToken({ alg: 'HS256', kid: ['k-new'] }, kidClaims(), NEW)],
    ['a kid object', async () => hmacToken({ alg: 'HS256', kid: { toString: 'k-new' } }, kidClaims(), NEW)],
    ['an empty key under a traversal kid', async () => hmacToken({ alg: 'HS256', kid: '../../dev/null' }, kidClaims(), '')],
  ])('refuses %s', async (_label, make) => {
    const { result } = await world.observe({ redis: 'none' }, async () => send(app, { path: '/fx/me', authorization: `Bearer ${await make()}` }));
    expect(result.status).toBe(401);
    expect(result.body).toEqual(REJECTED);
  });
});
