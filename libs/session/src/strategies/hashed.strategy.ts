import { randomToken, sha256Base64Url } from '../crypto.util.js';
import { CREDENTIAL_BYTES, SHAPES } from './credential-shape.js';
import { OpaqueTokenStrategy } from './opaque-token.strategy.js';

/**
 * The client holds a 256-bit random secret; Redis only ever sees its SHA-256, so a dump of Redis
 * (keys, values or the user index) yields no usable credential. A preimage search on SHA-256 of
 * 256 random bits is infeasible, so no salt or slow hash is needed.
 */
export class HashedTokenStrategy extends OpaqueTokenStrategy {
  readonly name: string = 'hashed';
  protected readonly shape = SHAPES.hashedSecret;

  protected toStoreId(token: string): string {
    return sha256Base64Url(token);
  }

  protected newToken(): string {
    return randomToken(CREDENTIAL_BYTES.hashedSecret);
  }
}
