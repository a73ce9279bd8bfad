import { describe, expect, it } from '@jest/globals';
import { SessionUsageError } from '../session.errors.js';
import { withCheckedStoreIds } from './checked-store-ids.js';
import { INVALID_CREDENTIAL } from './opaque-token.strategy.js';
import type { CredentialCheck, SessionStrategy } from './session-strategy.interface.js';

/** An app's own strategy that trusts its header: the store id is whatever the client sent. */
function headerTrusting(mintedId = 'a'.repeat(32)): SessionStrategy {
  const fromHeader = (value: unknown): CredentialCheck =>
    typeof value === 'string' ? { kind: 'valid', storeId: value } : { kind: 'none' };
  return {
    name: 'trusting',
    supportsGuests: true,
    extract: (request) => fromHeader(request.headers['x-id']),
    verify: async (credential) => fromHeader(credential),
    mint: async () => ({ credential: mintedId, storeId: mintedId }),
    accepts: () => true,
    deliver: () => undefined,
    clear: () => undefined,
  };
}

describe('withCheckedStoreIds (an app-provided strategy)', () => {
  const strategy = withCheckedStoreIds(headerTrusting());

  it.each([
    ['braces that would move the Cluster hash tag', 'x}{y'.padEnd(20, 'z')],
    ['a Redis glob pattern', '*'.repeat(20)],
    ['too short', 'abc'],
    ['too long', 'a'.repeat(129)],
    ['spaces', 'a b'.padEnd(20, 'c')],
  ])('refuses a credential naming %s like any bad credential', async (_label, id) => {
    expect(strategy.extract({ headers: { 'x-id': id } })).toEqual({ kind: 'invalid', reason: INVALID_CREDENTIAL });
    expect(await strategy.verify(id)).toEqual({ kind: 'invalid', reason: INVALID_CREDENTIAL });
  });

  it('passes a well-formed id and no credential through unchanged', async () => {
    const id = 'A-b_'.repeat(8);
    expect(strategy.extract({ headers: { 'x-id': id } })).toEqual({ kind: 'valid', storeId: id });
    expect(strategy.extract({ headers: {} })).toEqual({ kind: 'none' });
    expect(strategy.name).toBe('trusting');
  });

  it('says at once when the strategy mints a malformed id (a bug in it)', async () => {
    await expect(withCheckedStoreIds(headerTrusting('{bad}')).mint(null, Date.now())).rejects.toThrow(SessionUsageError);
    await expect(withCheckedStoreIds(headerTrusting('{bad}')).mint(null, Date.now())).rejects.toThrow("Strategy 'trusting' minted a store id");
  });
});
