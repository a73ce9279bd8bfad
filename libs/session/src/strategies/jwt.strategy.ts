import { JwtService } from '@nestjs/jwt';
import type { KeyObject } from 'node:crypto';
import { jwtKeyObject, randomToken } from '../crypto.util.js';
import { CookieTransport, HeaderTransport, type CredentialTransport } from '../http/credential-transport.js';
import type { ResponseWriter, SessionRequest } from '../http/http-message.js';
import type { ResolvedJwt, ResolvedSessionOptions } from '../options/resolved-options.js';
import type { StoredSession } from '../store/session-store.interface.js';
import { SessionSignInRequiredError, SessionUsageError } from '../session.errors.js';
import { CREDENTIAL_BYTES, SHAPES, USER_ID } from './credential-shape.js';
import { INVALID_CREDENTIAL } from './opaque-token.strategy.js';
import type { CredentialCheck, MintedCredential, SessionStrategy } from './session-strategy.interface.js';
import { VerifiedTokenCache } from './verified-token.cache.js';
import type { MaybePromise } from '../maybe-promise.js';

const INVALID: CredentialCheck = { kind: 'invalid', reason: INVALID_CREDENTIAL };
/** JOSE header parameters that name a key or a critical extension (RFC 8725 section 3.10). */
const UNTRUSTED_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;
/** About 300 bytes a token: a few MB at most. */
const VERIFIED_TOKENS = 10_000;

interface SessionClaims {
  sid?: unknown;
  sub?: unknown;
  exp?: unknown;
}

/**
 * A JWT (signed with @nestjs/jwt) whose `sid` names a server-side session and whose `sub` is its
 * user. The signature, `alg` allow-list, `kid`, `exp`, `nbf`, `iss` and `aud` are checked before any
 * store call; then the session must exist, so destroying it revokes the token at once (an
 * allow-list: a lost Redis key fails closed, never open).
 */
export class JwtSessionStrategy implements SessionStrategy {
  readonly name = 'jwt';
  readonly supportsGuests = false;
  private readonly jwt: ResolvedJwt;
  private readonly service = new JwtService();
  private readonly transport: CredentialTransport;
  private readonly keyObjects = new Map<string, KeyObject>();
  private readonly verified = new VerifiedTokenCache(VERIFIED_TOKENS);

  constructor(options: ResolvedSessionOptions) {
    if (!options.jwt) throw new SessionUsageError("The jwt strategy needs the module's jwt options");
    this.jwt = options.jwt;
    this.transport =
      this.jwt.transport === 'cookie' && options.cookie
        ? new CookieTransport(options.cookie)
        : new HeaderTransport('authorization');
  }

  extract(request: SessionRequest): MaybePromise<CredentialCheck> {
    const raw = this.transport.read(request);
    if (raw.kind === 'none') return raw;
    if (raw.kind !== 'present') return INVALID;
    // A token that verified before answers at once: no promise on a client's every later request.
    return this.verified.get(raw.value) ?? this.verifyUnknown(raw.value);
  }

  async verify(token: string): Promise<CredentialCheck> {
    return this.verified.get(token) ?? this.verifyUnknown(token);
  }

  /** The full check of a token not verified before (or whose entry expired). */
  private async verifyUnknown(token: string): Promise<CredentialCheck> {
    if (!SHAPES.jwt.test(token)) return INVALID;
    const header = this.decodeHeader(token);
    const key = header && this.keyFor(header);
    if (!key) return INVALID;
    try {
      const claims = await this.service.verifyAsync<SessionClaims>(token, {
        algorithms: this.jwt.algorithms,
        issuer: this.jwt.issuer,
        audience: this.jwt.audience,
        // (@nestjs/jwt passes the KeyObject through; its types only name string | Buffer.)
        ...(key.secret !== undefined ? { secret: this.keyObject(key, 'verify') } : { publicKey: this.keyObject(key, 'verify') }),
      });
      const { sid, sub, exp } = claims;
      const wellFormed =
        typeof sid === 'string' && SHAPES.jwtSid.test(sid) &&
        typeof sub === 'string' && USER_ID.test(sub) &&
        typeof exp === 'number';
      if (!wellFormed) return INVALID;
      const check = { kind: 'valid', storeId: sid, userId: sub } as const;
      this.verified.set(token, check, exp);
      return check;
    } catch {
      // Expired, not yet valid, bad signature, wrong issuer/audience: all answer alike.
      return INVALID;
    }
  }

  async mint(userId: string | null, expiresAt: number): Promise<MintedCredential> {
    if (userId === null) {
      throw new SessionSignInRequiredError('The jwt strategy cannot issue a guest session: call session.logIn(userId) first');
    }
    const sid = randomToken(CREDENTIAL_BYTES.jwtSid);
    const [signer] = this.jwt.keys;
    // The token never outlives the session's absolute deadline.
    // exp is set directly: expiresIn would be added to a rounded-down iat and end the token up to
    // a second before the session's deadline.
    const nowSeconds = Math.floor(Date.now() / 1000);
    const exp = Math.max(nowSeconds + 1, Math.min(nowSeconds + this.jwt.expiresInSeconds, Math.floor(expiresAt / 1000)));
    const credential = await this.service.signAsync(
      { sid, exp },
      {
        subject: userId,
        algorithm: this.jwt.algorithms[0],
        ...(this.jwt.issuer !== undefined ? { issuer: this.jwt.issuer } : {}),
        ...(this.jwt.audience !== undefined ? { audience: this.jwt.audience } : {}),
        ...(signer.kid ? { keyid: signer.kid } : {}),
        ...(signer.secret !== undefined ? { secret: this.keyObject(signer, 'sign') } : { privateKey: this.keyObject(signer, 'sign') }),
      },
    );
    return { credential, storeId: sid };
  }

  accepts(session: StoredSession, check: CredentialCheck & { kind: 'valid' }): boolean {
    return session.userId !== null && session.userId === check.userId;
  }

  deliver(response: ResponseWriter, credential: string, expiresAt: number): void {
    // A cookie that outlived its token (expiresIn shorter than the session) would go on carrying a
    // dead token, answered 401 on every request until the session's deadline.
    const exp = this.service.decode<SessionClaims | null>(credential)?.exp;
    const tokenExpiresAt = typeof exp === 'number' ? exp * 1000 : Infinity;
    this.transport.write(response, credential, Math.min(expiresAt, tokenExpiresAt));
  }

  clear(response: ResponseWriter): void {
    this.transport.clear(response);
  }

  private decodeHeader(token: string): { alg?: unknown; kid?: unknown } | null {
    try {
      const header: unknown = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
      return typeof header === 'object' && header !== null ? header : null;
    } catch {
      return null;
    }
  }

  /** The key as a KeyObject, built once per key and use (see jwtKeyObject). */
  private keyObject(key: ResolvedJwt['keys'][number], use: 'sign' | 'verify'): string {
    const id = `${use}:${this.jwt.keys.indexOf(key)}`;
    let object = this.keyObjects.get(id);
    if (!object) {
      object = jwtKeyObject(key, use);
      this.keyObjects.set(id, object);
    }
    return object as unknown as string;
  }

  /** Picks the verification key by `kid`; with a single unnamed secret, a `kid` is refused. */
  private keyFor(header: { alg?: unknown; kid?: unknown }): ResolvedJwt['keys'][number] | null {
    if (typeof header.alg !== 'string' || !(this.jwt.algorithms as string[]).includes(header.alg)) return null;
    // We never issue these: a token that points at its own key (jku, x5u, jwk, x5c) or needs an
    // extension we do not implement (crit, RFC 7515 section 4.1.11) is refused, whoever signed it.
    if (UNTRUSTED_HEADERS.some((name) => Object.hasOwn(header, name))) return null;
    if (this.jwt.keys.length === 1 && this.jwt.keys[0].kid === null) {
      return header.kid === undefined ? this.jwt.keys[0] : null;
    }
    return this.jwt.keys.find((k) => k.kid !== null && k.kid === header.kid) ?? null;
  }
}
