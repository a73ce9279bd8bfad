import { CookieTransport, CompositeTransport, HeaderTransport, type CredentialTransport } from '../http/credential-transport.js';
import type { ResponseWriter, SessionRequest } from '../http/http-message.js';
import type { ResolvedSessionOptions } from '../options/resolved-options.js';
import type { StoredSession } from '../store/session-store.interface.js';
import type { CredentialCheck, MintedCredential, SessionStrategy } from './session-strategy.interface.js';

export const INVALID_CREDENTIAL = 'Invalid or expired session credential';

/** The shared body of the two opaque-token strategies: a random token in a cookie or a header. */
export abstract class OpaqueTokenStrategy implements SessionStrategy {
  abstract readonly name: string;
  readonly supportsGuests = true;
  private readonly transport: CredentialTransport;

  constructor(options: ResolvedSessionOptions) {
    const transports: CredentialTransport[] = [];
    if (options.cookie) transports.push(new CookieTransport(options.cookie));
    if (options.header) transports.push(new HeaderTransport(options.header));
    this.transport = new CompositeTransport(transports);
  }

  /** The token's shape, checked before anything else. */
  protected abstract readonly shape: RegExp;
  /** The id the store sees for a well-formed token. */
  protected abstract toStoreId(token: string): string;
  protected abstract newToken(): string;

  extract(request: SessionRequest): CredentialCheck {
    const raw = this.transport.read(request);
    if (raw.kind === 'none') return raw;
    return raw.kind === 'present' ? this.checkShape(raw.value) : { kind: 'invalid', reason: INVALID_CREDENTIAL };
  }

  async verify(token: string): Promise<CredentialCheck> {
    return this.checkShape(token);
  }

  private checkShape(token: string): CredentialCheck {
    return this.shape.test(token)
      ? { kind: 'valid', storeId: this.toStoreId(token) }
      : { kind: 'invalid', reason: INVALID_CREDENTIAL };
  }

  async mint(): Promise<MintedCredential> {
    const credential = this.newToken();
    return { credential, storeId: this.toStoreId(credential) };
  }

  accepts(_session: StoredSession): boolean {
    return true;
  }

  deliver(response: ResponseWriter, credential: string, expiresAt: number): void {
    this.transport.write(response, credential, expiresAt);
  }

  clear(response: ResponseWriter): void {
    this.transport.clear(response);
  }
}
