// The option DTOs use class-transformer's @Type, which needs the reflect-metadata polyfill. In an app
// @nestjs/common loads it first; this spec loads it itself (see session-options.load.spec.ts).
import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { SessionConfigError, SessionError } from '../session.errors.js';
import { resolveSessionOptions } from './resolved-options.js';
import type { SessionModuleOptions } from './session-options.interface.js';

const SECRET = 'unit-test-hmac-secret-0123456789abcdef'; // 38 bytes
const KNOWN =
  'redis, store, strategy, ttl, touchAfter, keyPrefix, cookie, header, jwt, maxDataBytes, maxSessionsPerUser, guard, cache, csrf, expiryEvents, metrics, durability, batchWrites, rotationGraceMs, commit';

/** Resolves options that are expected to be invalid and returns the SessionConfigError. */
function configError(options: unknown): SessionConfigError {
  try {
    resolveSessionOptions(options as SessionModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(SessionConfigError);
    return error as SessionConfigError;
  }
  throw new Error('expected resolveSessionOptions to throw a SessionConfigError');
}

/** Asserts the whole error message: one `session: ` line per problem, in order. */
function expectProblems(options: unknown, problems: string[]): void {
  const error = configError(options);
  expect(error.problems).toEqual(problems);
  expect(error.message).toBe(problems.map((p) => `session: ${p}`).join('\n'));
}

describe('resolveSessionOptions: defaults', () => {
  it('applies every default for the minimal memory configuration', () => {
    const resolved = resolveSessionOptions({ store: 'memory' });
    expect(resolved).toEqual({
      store: 'memory',
      redis: null,
      strategies: ['session-id'],
      idleMs: 1800 * 1000,
      absoluteMs: 604800 * 1000,
      touchAfterMs: 60 * 1000,
      keyPrefix: 'sess:',
      maxDataBytes: 65536,
      maxSessionsPerUser: null,
      cookie: { name: '__Host-sid', domain: undefined, path: '/', sameSite: 'lax', secure: true, maxAge: null },
      header: null,
      jwt: null,
      guard: 'manual',
      commit: 'on-send', // 'auto': on send for HTTP routes, the interceptor bound to gateways and resolvers
      bindCommitToHandlers: true,
      cache: null,
      csrf: { trustedOrigins: new Set() },
      expiryEvents: null,
      metrics: { meterProvider: null },
      durability: null,
      batchWrites: true,
      rotationGraceMs: 5000,
    });
  });

  it('keeps a rotated-away session readable for 5 s unless rotationGraceMs says otherwise (0 to 60000 ms)', () => {
    const url = 'redis://redis.test:6380/0';
    expect(resolveSessionOptions({ redis: { url }, rotationGraceMs: 0 }).rotationGraceMs).toBe(0);
    expect(resolveSessionOptions({ redis: { url }, rotationGraceMs: 60_000 }).rotationGraceMs).toBe(60_000);
    for (const bad of [-1, 60_001, 1.5, '5000']) {
      expectProblems({ redis: { url }, rotationGraceMs: bad }, [`rotationGraceMs must be an integer from 0 (off) to 60000 ms (got ${JSON.stringify(bad)})`]);
    }
  });

  it("takes commit 'auto', 'interceptor' or 'on-send', and refuses any other value", () => {
    const url = 'redis://redis.test:6380/0';
    expect(resolveSessionOptions({ redis: { url }, commit: 'on-send' }).commit).toBe('on-send');
    expect(resolveSessionOptions({ redis: { url }, commit: 'interceptor' }).commit).toBe('interceptor');
    expectProblems({ redis: { url }, commit: 'on-response' }, ["commit must be 'auto', 'interceptor' or 'on-send' (got \"on-response\")"]);
  });

  it('batches Redis writes unless batchWrites is false, and refuses anything but a boolean', () => {
    const url = 'redis://redis.test:6380/0';
    expect(resolveSessionOptions({ redis: { url }, batchWrites: false }).batchWrites).toBe(false);
    expectProblems({ redis: { url }, batchWrites: 'no' }, ['batchWrites must be true or false (got "no")']);
  });

  it('applies the near-cache defaults and refuses bad cache settings', () => {
    const url = 'redis://redis.test:6380/0';
    expect(resolveSessionOptions({ redis: { url }, cache: {} }).cache).toEqual({ maxEntries: 10000, ttlMs: 30000 });
    expect(resolveSessionOptions({ redis: { url }, cache: { maxEntries: 5, ttlMs: 100 } }).cache).toEqual({ maxEntries: 5, ttlMs: 100 });
    expect(resolveSessionOptions({ redis: { url }, cache: false }).cache).toBeNull();
    expectProblems({ redis: { url }, cache: { maxEntries: 0, ttlMs: 1.5, size: 3 } }, [
      'cache.maxEntries must be a positive integer (got 0)',
      'cache.ttlMs must be a positive integer (got 1.5)',
      'cache.size is not a known option (known: maxEntries, ttlMs)',
    ]);
    expectProblems({ store: 'memory', cache: {} }, ["cache only applies to store 'redis' (the memory store is in-process already)"]);
    expect(configError({ redis: { cluster: { nodes: [{ host: 'h', port: 7000 }] } }, cache: {} }).message).toContain(
      'cache is not supported on Redis Cluster',
    );
  });

  it("defaults the store to 'redis' and keeps the redis options", () => {
    const resolved = resolveSessionOptions({ redis: { url: 'redis://redis.test:6380/0' } });
    expect(resolved.store).toBe('redis');
    expect(resolved.redis).toEqual({ url: 'redis://redis.test:6380/0' });
  });

  it('ignores redis options when the store is memory', () => {
    const resolved = resolveSessionOptions({ store: 'memory', redis: { url: 'redis://localhost' } });
    expect(resolved.redis).toBeNull();
  });

  it('sets touchAfter to a quarter of a short idle timeout', () => {
    const resolved = resolveSessionOptions({ store: 'memory', ttl: { idle: 120 } });
    expect(resolved.idleMs).toBe(120_000);
    expect(resolved.absoluteMs).toBe(604_800_000);
    expect(resolved.touchAfterMs).toBe(30_000);
  });

  it('caps the default touchAfter at 60 s and keeps an explicit one', () => {
    expect(resolveSessionOptions({ store: 'memory', ttl: { idle: 3600 } }).touchAfterMs).toBe(60_000);
    expect(resolveSessionOptions({ store: 'memory', touchAfter: 5 }).touchAfterMs).toBe(5_000);
  });

  it('shortens the default idle timeout to a shorter absolute lifetime', () => {
    const resolved = resolveSessionOptions({ store: 'memory', ttl: { absolute: 600 } });
    expect(resolved.idleMs).toBe(600_000);
    expect(resolved.absoluteMs).toBe(600_000);
    expect(resolved.touchAfterMs).toBe(60_000);
  });

  it("names the cookie '__Host-sid' when secure and 'sid' when secure is false", () => {
    expect(resolveSessionOptions({ store: 'memory' }).cookie?.name).toBe('__Host-sid');
    expect(resolveSessionOptions({ store: 'memory', cookie: { secure: true } }).cookie?.name).toBe('__Host-sid');
    const plain = resolveSessionOptions({ store: 'memory', cookie: { secure: false } }).cookie;
    expect(plain).toEqual({ name: 'sid', domain: undefined, path: '/', sameSite: 'lax', secure: false, maxAge: null });
  });

  it("falls back to 'sid' when a domain is set (a __Host- cookie cannot have one)", () => {
    const cookie = resolveSessionOptions({ store: 'memory', cookie: { domain: 'example.com' } }).cookie;
    expect(cookie?.name).toBe('sid');
    expect(cookie?.domain).toBe('example.com');
  });

  it("does not default to a __Host- name when cookie.path is not '/' (browsers would drop the cookie)", () => {
    // A __Host- cookie must have Path=/; browsers silently refuse one with Path=/app, so the
    // session would never come back. The default name must fall back as it does for a domain.
    const cookie = resolveSessionOptions({ store: 'memory', cookie: { path: '/app' } }).cookie;
    expect(cookie?.path).toBe('/app');
    expect(cookie?.name).toBe('sid');
  });

  it('keeps an explicit cookie name, sameSite and maxAge; cookie false disables it', () => {
    const cookie = resolveSessionOptions({
      store: 'memory',
      cookie: { name: 'app_session', sameSite: 'strict', maxAge: 3600 },
    }).cookie;
    expect(cookie).toMatchObject({ name: 'app_session', sameSite: 'strict', maxAge: 3600, path: '/', secure: true });
    expect(resolveSessionOptions({ store: 'memory', cookie: false, header: 'x-session-id' }).cookie).toBeNull();
  });

  it('resolves a single jwt secret to one unnamed HS256 key living as long as the session', () => {
    const resolved = resolveSessionOptions({ store: 'memory', strategy: 'jwt', ttl: { absolute: 7200 }, jwt: { secret: SECRET } });
    expect(resolved.strategies).toEqual(['jwt']);
    expect(resolved.jwt).toEqual({
      keys: [{ kid: null, secret: SECRET }],
      algorithms: ['HS256'],
      issuer: undefined,
      audience: undefined,
      expiresInSeconds: 7200,
      transport: 'bearer',
    });
  });

  it('accepts a full valid configuration without throwing', () => {
    expect(() =>
      resolveSessionOptions({
        redis: { sentinels: [{ host: 'sentinel-1', port: 26379 }], name: 'mymaster' },
        strategy: ['jwt', 'hashed'],
        ttl: { idle: 900, absolute: 86400 },
        keyPrefix: 'app:sess:',
        header: 'x-session-id',
        jwt: { keys: [{ kid: 'k2', secret: SECRET }, { kid: 'k1', secret: SECRET.toUpperCase() }], issuer: 'me', audience: 'you' },
        maxDataBytes: 4096,
        maxSessionsPerUser: 5,
        guard: 'global',
      }),
    ).not.toThrow();
  });
});

describe('resolveSessionOptions: SessionConfigError', () => {
  it('is a SessionError named SessionConfigError that names the option', () => {
    const error = configError({ store: 'memory', ttl: { idle: -5 } });
    expect(error).toBeInstanceOf(SessionError);
    expect(error.name).toBe('SessionConfigError');
    expect(error.message).toBe('session: ttl.idle must be a positive integer (got -5)');
  });

  it('reports every problem in one error instead of stopping at the first', () => {
    expectProblems(
      { store: 'memory', ttl: { idle: -5, absolute: 1.5 }, touchAfter: 0, keyPrefix: 'a{b}', strategy: 'oauth', cookie: { httpOnly: false } },
      [
        'ttl.idle must be a positive integer (got -5)',
        'ttl.absolute must be a positive integer (got 1.5)',
        'touchAfter must be a positive integer (got 0)',
        'keyPrefix must be at most 64 characters without braces or spaces (braces are Cluster hash tags) (got "a{b}")',
        "strategy must be 'session-id', 'jwt', 'hashed' or a strategy class (got \"oauth\")",
        'cookie.httpOnly must not be false: scripts must never read a session credential',
      ],
    );
  });

  it('refuses an unknown option key and lists the known ones', () => {
    expectProblems({ store: 'memory', sessionName: 'x' }, [`sessionName is not a known option (known: ${KNOWN})`]);
  });

  it("requires redis when the store is 'redis' (the default)", () => {
    expectProblems({}, ["redis is required when store is 'redis' (or set store: 'memory')"]);
    expectProblems({ store: 'redis' }, ["redis is required when store is 'redis' (or set store: 'memory')"]);
  });

  it('refuses redis options with two connection forms', () => {
    expectProblems({ redis: { url: 'redis://localhost', host: 'localhost' } }, [
      'redis must have exactly one of url, host, sentinels, cluster or client (got url and host)',
    ]);
  });

  it('refuses a redis.url that is not a redis:// or rediss:// URL', () => {
    expectProblems({ redis: { url: 'http://redis.test:6380' } }, [
      'redis.url must be a redis:// or rediss:// URL (got "http://redis.test:6380")',
    ]);
  });

  it('does not echo a password contained in a malformed redis.url', () => {
    const error = configError({ redis: { url: 'redis//:hunter2-password@cache.internal:6380' } });
    expect(error.message.startsWith('session: redis.url must be a redis:// or rediss:// URL')).toBe(true);
    expect(error.message).not.toContain('hunter2-password');
  });

  it('requires the master name with sentinels', () => {
    expectProblems({ redis: { sentinels: [{ host: 'sentinel-1', port: 26379 }] } }, [
      'redis.name must name the Sentinel master (e.g. "mymaster")',
    ]);
  });

  it("requires jwt options when a strategy is 'jwt'", () => {
    const problem = "jwt is required when strategy includes 'jwt' (at least { secret })";
    expectProblems({ store: 'memory', strategy: 'jwt' }, [problem]);
    expectProblems({ store: 'memory', strategy: ['session-id', 'jwt'] }, [problem]);
  });

  it('refuses a jwt.secret under 32 bytes without echoing the secret', () => {
    const secret = 'too-short-but-secret';
    const error = configError({ store: 'memory', strategy: 'jwt', jwt: { secret } });
    expect(error.message).toBe(
      'session: jwt.secret must be at least 32 bytes of UTF-8 (got 20 bytes): a short HMAC key can be brute-forced',
    );
    expect(error.message).not.toContain(secret);
  });

  it('counts secret length in UTF-8 bytes and never echoes a key secret either', () => {
    // 11 characters x 3 bytes = 33 bytes: long enough although only 11 characters.
    expect(() => resolveSessionOptions({ store: 'memory', strategy: 'jwt', jwt: { secret: '€'.repeat(11) } })).not.toThrow();
    const error = configError({ store: 'memory', strategy: 'jwt', jwt: { keys: [{ kid: 'k1', secret: 'key-secret-xyz' }] } });
    expect(error.message).toBe(
      'session: jwt.keys[0].secret must be at least 32 bytes of UTF-8 (got 14 bytes): a short HMAC key can be brute-forced',
    );
    expect(error.message).not.toContain('key-secret-xyz');
  });

  it("refuses jwt.algorithms containing 'none'", () => {
    const error = configError({ store: 'memory', strategy: 'jwt', jwt: { secret: SECRET, algorithms: ['none'] } });
    expect(error.problems).toContain(
      "jwt.algorithms must be a non-empty list of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 ('none' is never allowed) (got [\"none\"])",
    );
  });

  it("reports only the algorithm problem for 'none', without misleading key-type advice", () => {
    // 'none' is not a public-key algorithm; telling the user to switch to public keys is wrong.
    expectProblems({ store: 'memory', strategy: 'jwt', jwt: { secret: SECRET, algorithms: ['HS256', 'none'] } }, [
      "jwt.algorithms must be a non-empty list of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 ('none' is never allowed) (got [\"HS256\",\"none\"])",
    ]);
  });

  it('refuses jwt.algorithms mixing HMAC and public-key algorithms', () => {
    expectProblems({ store: 'memory', strategy: 'jwt', jwt: { secret: SECRET, algorithms: ['HS256', 'RS256'] } }, [
      'jwt.algorithms must not mix HMAC (HS*) and public-key algorithms (key confusion)',
      'jwt.secret only works with HS* algorithms; use jwt.keys with public keys',
    ]);
  });

  it('refuses jwt with both or neither of secret and keys', () => {
    expectProblems({ store: 'memory', strategy: 'jwt', jwt: {} }, ['jwt must have exactly one of secret or keys']);
    expectProblems(
      { store: 'memory', strategy: 'jwt', jwt: { secret: SECRET, keys: [{ kid: 'k1', secret: SECRET }] } },
      ['jwt must have exactly one of secret or keys'],
    );
  });

  it('refuses jwt.keys with a duplicate kid', () => {
    expectProblems(
      { store: 'memory', strategy: 'jwt', jwt: { keys: [{ kid: 'a', secret: SECRET }, { kid: 'a', secret: SECRET.toUpperCase() }] } },
      ['jwt.keys[1].kid must be unique (got "a" twice)'],
    );
  });

  it('refuses a misspelt key inside ttl, cookie, jwt, jwt.keys[i], redis and redis.cluster, naming the known ones', () => {
    expectProblems({ store: 'memory', ttl: { idel: 60 } }, ['ttl.idel is not a known option (known: idle, absolute)']);
    expectProblems({ store: 'memory', cookie: { maxage: 5 } }, ['cookie.maxage is not a known option (known: name, domain, path, sameSite, secure, httpOnly, maxAge)']);
    expectProblems({ store: 'memory', strategy: 'jwt', jwt: { secret: SECRET, expireIn: 60 } }, [
      'jwt.expireIn is not a known option (known: secret, keys, algorithms, issuer, audience, expiresIn, transport)',
    ]);
    expectProblems({ store: 'memory', strategy: 'jwt', jwt: { keys: [{ kid: 'a', secret: SECRET, secrt: SECRET }] } }, [
      'jwt.keys[0].secrt is not a known option (known: kid, secret, privateKey, publicKey)',
    ]);
    expectProblems({ redis: { url: 'redis://r.test:6390', db: 3 } }, ['redis.db is not a known option (known: url, options)']);
    expectProblems({ redis: { cluster: { nodes: [{ host: 'r.test', port: 7000 }], redisOptions: {} } } }, [
      'redis.cluster.redisOptions is not a known option (known: nodes, options)',
    ]);
  });

  it('checks the shape of jwt settings that the strategy does not use, and nothing more; never echoes a misplaced secret', () => {
    expectProblems({ store: 'memory', strategy: 'session-id', jwt: { secret: SECRET, expireIn: 60 } }, [
      'jwt.expireIn is not a known option (known: secret, keys, algorithms, issuer, audience, expiresIn, transport)',
    ]);
    // A string there is most likely the secret itself, put one level too high: not echoed.
    expectProblems({ store: 'memory', jwt: 'a-secret-passed-in-the-wrong-place' }, ['jwt must be an object { secret | keys, ... } (got a string)']);
    expectProblems({ store: 'memory', strategy: 'jwt', jwt: 'a-secret-passed-in-the-wrong-place' }, [
      'jwt must be an object { secret | keys, ... } (got a string)',
      "jwt is required when strategy includes 'jwt' (at least { secret })",
    ]);
    // A secret unset where jwt is off (one config, strategy switched by environment) is not a mistake.
    expect(() => resolveSessionOptions({ store: 'memory', strategy: 'hashed', jwt: { secret: undefined } } as SessionModuleOptions)).not.toThrow();
  });

  it('refuses connection fields of the wrong type, which ioredis would take without a word', () => {
    expectProblems({ redis: { host: 'r.test', db: -1, tls: 'yes', username: 5 } }, [
      'redis.username must be a string (got 5)',
      'redis.db must be a database number, an integer from 0 (got -1)',
      'redis.tls must be true, false or Node TLS options (got "yes")',
    ]);
    expectProblems({ redis: { sentinels: [{ host: 's.test', port: 26379 }], name: 'm', db: 'x', options: 'fast' } }, [
      'redis.db must be a database number, an integer from 0 (got "x")',
      'redis.options must be an object of ioredis options (got "fast")',
    ]);
  });

  it('names redis.url when it is undefined, as from an unset environment variable', () => {
    expectProblems({ redis: { url: undefined } }, ['redis.url is undefined (an environment variable not set?)']);
  });

  it('refuses ttl, cookie and jwt that are not objects with a message about their shape', () => {
    expectProblems({ store: 'memory', ttl: 5 }, ['ttl must be an object { idle?, absolute? } (got 5)']);
    expectProblems({ store: 'memory', cookie: [] }, ['cookie must be an object or false (got [])']);
    expectProblems({ store: 'memory', strategy: 'jwt', jwt: null }, [
      'jwt must be an object { secret | keys, ... } (got null)',
      "jwt is required when strategy includes 'jwt' (at least { secret })",
    ]);
  });

  it('refuses a touchAfter at or above ttl.idle, where a session that is only read would expire in use', () => {
    expectProblems({ store: 'memory', ttl: { idle: 60 }, touchAfter: 60 }, [
      'touchAfter must be below ttl.idle (got touchAfter 60 >= idle 60): a session that is only read would expire while in use',
    ]);
    expectProblems({ store: 'memory', touchAfter: 3600 }, [
      'touchAfter must be below ttl.idle (got touchAfter 3600 >= idle 1800): a session that is only read would expire while in use',
    ]);
    expect(resolveSessionOptions({ store: 'memory', ttl: { idle: 60 }, touchAfter: 59 }).touchAfterMs).toBe(59_000);
    // Without ttl.idle, the default idle timeout (1800 s) shortens to a shorter absolute lifetime.
    expectProblems({ store: 'memory', ttl: { absolute: 600 }, touchAfter: 900 }, [
      'touchAfter must be below ttl.idle (got touchAfter 900 >= idle 600): a session that is only read would expire while in use',
    ]);
  });

  it('refuses an empty jwt.issuer or jwt.audience, which jsonwebtoken would not check at all', () => {
    expectProblems({ store: 'memory', strategy: 'jwt', jwt: { secret: SECRET, issuer: '', audience: '' } }, [
      'jwt.issuer must be a non-empty string (got "")',
      'jwt.audience must be a non-empty string (got "")',
    ]);
  });

  it('shows NaN and Infinity as themselves, not as null', () => {
    expectProblems({ store: 'memory', ttl: { idle: Number.NaN, absolute: Number.POSITIVE_INFINITY } }, [
      'ttl.idle must be a positive integer (got NaN)',
      'ttl.absolute must be a positive integer (got Infinity)',
    ]);
  });

  describe('public-key jwt.keys, parsed at startup', () => {
    const pem = (pair: { publicKey: { export(o: object): string | Buffer }; privateKey: { export(o: object): string | Buffer } }) => ({
      publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    });
    const rsa = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }));
    const otherRsa = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }));
    const weakRsa = pem(generateKeyPairSync('rsa', { modulusLength: 1024 }));
    const p256 = pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    const jwtWith = (algorithms: string[], key: object) => ({ store: 'memory', strategy: 'jwt', jwt: { algorithms, keys: [{ kid: 'k1', ...key }] } });

    it('accepts a matching pair for RS256, PS256 and ES256', () => {
      expect(() => resolveSessionOptions(jwtWith(['RS256'], rsa) as SessionModuleOptions)).not.toThrow();
      expect(() => resolveSessionOptions(jwtWith(['PS256'], rsa) as SessionModuleOptions)).not.toThrow();
      expect(() => resolveSessionOptions(jwtWith(['ES256'], p256) as SessionModuleOptions)).not.toThrow();
    });

    it('refuses an unreadable key, naming it', () => {
      const error = configError(jwtWith(['RS256'], { publicKey: 'not a key', privateKey: '' }));
      expect(error.problems).toHaveLength(2);
      expect(error.problems[0]).toMatch(/^jwt\.keys\[0\]\.publicKey is not a readable PEM public key \(/);
      expect(error.problems[1]).toMatch(/^jwt\.keys\[0\]\.privateKey is not a readable PEM private key \(the first key signs\) \(/);
    });

    it('refuses a key of a type or curve none of the algorithms signs with', () => {
      expectProblems(jwtWith(['ES256'], rsa), [
        'jwt.keys[0].publicKey is a key of type rsa, which none of jwt.algorithms (ES256) signs with',
        'jwt.keys[0].privateKey is a key of type rsa, which none of jwt.algorithms (ES256) signs with',
      ]);
      expectProblems(jwtWith(['ES384'], p256), [
        'jwt.keys[0].publicKey is a key of type ec on curve prime256v1, which none of jwt.algorithms (ES384) signs with',
        'jwt.keys[0].privateKey is a key of type ec on curve prime256v1, which none of jwt.algorithms (ES384) signs with',
      ]);
    });

    it('refuses an RSA key under 2048 bits', () => {
      expectProblems(jwtWith(['RS256'], weakRsa), [
        'jwt.keys[0].publicKey is a 1024-bit RSA key; at least 2048 bits are required',
        'jwt.keys[0].privateKey is a 1024-bit RSA key; at least 2048 bits are required',
      ]);
    });

    it('refuses a private key given as a public one, for the signing key and the keys that only verify', () => {
      const verifying = { kid: 'k0', publicKey: otherRsa.privateKey };
      const options = { store: 'memory', strategy: 'jwt', jwt: { algorithms: ['RS256'], keys: [{ kid: 'k1', ...rsa, publicKey: rsa.privateKey }, verifying] } };
      expectProblems(options, [
        'jwt.keys[0].publicKey holds a private key; give its public half (the servers that only verify get this option)',
        'jwt.keys[1].publicKey holds a private key; give its public half (the servers that only verify get this option)',
      ]);
    });

    it('refuses a signing key whose private half does not match its public half', () => {
      expectProblems(jwtWith(['RS256'], { publicKey: rsa.publicKey, privateKey: otherRsa.privateKey }), [
        'jwt.keys[0].privateKey and jwt.keys[0].publicKey are not one key pair',
      ]);
    });
  });

  it("resolves commit: 'auto' (the default) to on-send for HTTP routes and the interceptor bound to gateways and resolvers; an explicit mode stays", () => {
    const resolved = (commit: SessionModuleOptions['commit']) => {
      const { commit: http, bindCommitToHandlers } = resolveSessionOptions({ store: 'memory', commit });
      return [http, bindCommitToHandlers];
    };
    expect([resolved(undefined), resolved('auto'), resolved('on-send'), resolved('interceptor')]).toEqual([
      ['on-send', true],
      ['on-send', true],
      ['on-send', false],
      ['interceptor', false],
    ]);
  });

  it('refuses a keyPrefix with braces (Cluster hash tags)', () => {
    expectProblems({ store: 'memory', keyPrefix: '{app}:' }, [
      'keyPrefix must be at most 64 characters without braces or spaces (braces are Cluster hash tags) (got "{app}:")',
    ]);
  });

  it("refuses sameSite 'none' without secure", () => {
    expectProblems({ store: 'memory', cookie: { sameSite: 'none', secure: false } }, [
      "cookie.sameSite 'none' requires cookie.secure true (browsers reject it otherwise)",
    ]);
  });

  it('refuses a __Host- cookie with a domain or a path other than /', () => {
    expectProblems({ store: 'memory', cookie: { name: '__Host-sid', domain: 'example.com' } }, [
      'cookie.domain must not be set with the __Host- prefix',
    ]);
    expectProblems({ store: 'memory', cookie: { name: '__Host-sid', path: '/app' } }, [
      "cookie.path must be '/' with the __Host- prefix",
    ]);
    expect(() => resolveSessionOptions({ store: 'memory', cookie: { name: '__Host-sid', path: '/' } })).not.toThrow();
  });

  it('refuses httpOnly false', () => {
    expectProblems({ store: 'memory', cookie: { httpOnly: false } }, [
      'cookie.httpOnly must not be false: scripts must never read a session credential',
    ]);
  });

  it('refuses ttl.idle greater than ttl.absolute', () => {
    expectProblems({ store: 'memory', ttl: { idle: 3600, absolute: 600 } }, [
      'ttl.idle must not exceed ttl.absolute (got idle 3600 > absolute 600)',
    ]);
  });

  it('refuses an unknown strategy name, naming its position in a list', () => {
    expectProblems({ store: 'memory', strategy: 'oauth' }, [
      "strategy must be 'session-id', 'jwt', 'hashed' or a strategy class (got \"oauth\")",
    ]);
    expectProblems({ store: 'memory', strategy: ['session-id', 'oauth'] }, [
      "strategy[1] must be 'session-id', 'jwt', 'hashed' or a strategy class (got \"oauth\")",
    ]);
  });

  it('refuses a strategy list with duplicates', () => {
    expectProblems({ store: 'memory', strategy: ['session-id', 'hashed', 'session-id'] }, [
      'strategy must not list a strategy twice',
    ]);
  });

  it('requires a header when cookie is false with an opaque-token strategy', () => {
    const problem = 'header must be set when cookie is false (e.g. "x-session-id" or "authorization")';
    expectProblems({ store: 'memory', cookie: false }, [problem]);
    expectProblems({ store: 'memory', cookie: false, strategy: 'hashed' }, [problem]);
    expect(() => resolveSessionOptions({ store: 'memory', cookie: false, header: 'authorization' })).not.toThrow();
    expect(() => resolveSessionOptions({ store: 'memory', cookie: false, strategy: 'jwt', jwt: { secret: SECRET } })).not.toThrow();
  });
});
