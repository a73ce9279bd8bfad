import { randomToken } from '../crypto.util.js';
import { CREDENTIAL_BYTES, SHAPES } from './credential-shape.js';
import { OpaqueTokenStrategy } from './opaque-token.strategy.js';

/** An opaque random session id (192 bits) in a cookie or header; Redis is keyed by the id itself. */
export class SessionIdStrategy extends OpaqueTokenStrategy {
  readonly name: string = 'session-id';
  protected readonly shape = SHAPES.sessionId;

  protected toStoreId(token: string): string {
    return token;
  }

  protected newToken(): string {
    return randomToken(CREDENTIAL_BYTES.sessionId);
  }
}
