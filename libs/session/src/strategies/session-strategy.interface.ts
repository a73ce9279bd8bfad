import type { ResponseWriter, SessionRequest } from '../http/http-message.js';
import type { MaybePromise } from '../maybe-promise.js';
import type { StoredSession } from '../store/session-store.interface.js';

/** What a strategy made of a request: no credential, a rejected one, or the store id it names. */
export type CredentialCheck =
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'valid'; readonly storeId: string; readonly userId?: string };

/** A freshly minted credential and the store id it maps to. */
export interface MintedCredential {
  readonly credential: string;
  readonly storeId: string;
}

/**
 * How clients prove which session is theirs. Built-ins: 'session-id', 'jwt', 'hashed'; an app may
 * register its own class (it is created with dependency injection).
 */
export interface SessionStrategy {
  /** Stored with each session it issues, so a session is only ever accepted by its own strategy. */
  readonly name: string;
  /** False when a credential needs a user (a JWT's `sub`): guest sessions are then impossible. */
  readonly supportsGuests: boolean;
  /**
   * Reads and checks the request's credential. Never throws for client input and never calls the
   * store. May answer synchronously (every request runs it: a promise costs the read path).
   */
  extract(request: SessionRequest): MaybePromise<CredentialCheck>;
  /** Checks a raw credential string (as `SessionService.get` receives it). */
  verify(credential: string): Promise<CredentialCheck>;
  /** Creates a new credential. `expiresAt` is the session's absolute deadline (epoch ms). */
  mint(userId: string | null, expiresAt: number): Promise<MintedCredential>;
  /** Extra binding between a verified credential and the loaded session (e.g. JWT `sub` = user). */
  accepts(session: StoredSession, check: CredentialCheck & { kind: 'valid' }): boolean;
  /** Sends a new or rotated credential to the client. */
  deliver(response: ResponseWriter, credential: string, expiresAt: number): void;
  /** Tells the client to forget its credential (logout, or a credential that names no session). */
  clear(response: ResponseWriter): void;
}

/** Injection token of the ordered strategy list (same name as the interface). */
export const SessionStrategy = Symbol('nestjs-redis-session:strategy');
