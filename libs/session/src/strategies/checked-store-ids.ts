import { isPromise } from '../maybe-promise.js';
import { SessionUsageError } from '../session.errors.js';
import { STORE_ID } from './credential-shape.js';
import { INVALID_CREDENTIAL } from './opaque-token.strategy.js';
import type { CredentialCheck, SessionStrategy } from './session-strategy.interface.js';

/**
 * An app's own strategy, held to the store-id shape the built-in ones keep by construction: a store
 * id becomes part of a Redis key, and one taken from a header unchecked could carry braces (moving
 * the Cluster hash tag) or any length. A credential naming a malformed id is refused like any bad
 * credential (401); a malformed id the strategy mints is a bug in it, said at once.
 */
export function withCheckedStoreIds(strategy: SessionStrategy): SessionStrategy {
  const checked = (check: CredentialCheck): CredentialCheck =>
    check.kind === 'valid' && !isStoreId(check.storeId) ? { kind: 'invalid', reason: INVALID_CREDENTIAL } : check;
  return {
    name: strategy.name,
    supportsGuests: strategy.supportsGuests,
    extract(request) {
      const check = strategy.extract(request);
      return isPromise(check) ? check.then(checked) : checked(check);
    },
    async verify(credential) {
      return checked(await strategy.verify(credential));
    },
    async mint(userId, expiresAt) {
      const minted = await strategy.mint(userId, expiresAt);
      if (!isStoreId(minted.storeId)) {
        throw new SessionUsageError(`Strategy '${strategy.name}' minted a store id that is not 16-128 characters of A-Z a-z 0-9 _ -`);
      }
      return minted;
    },
    accepts: (session, check) => strategy.accepts(session, check),
    deliver: (response, credential, expiresAt) => strategy.deliver(response, credential, expiresAt),
    clear: (response) => strategy.clear(response),
  };
}

/** A custom strategy is the app's own JavaScript: its id may not even be a string. */
const isStoreId = (value: unknown): boolean => typeof value === 'string' && STORE_ID.test(value);
