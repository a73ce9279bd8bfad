/** The SessionStore contract on the in-process MemorySessionStore. */
import { MemorySessionStore } from '../src/store/memory-session.store.js';
import { describeSessionStoreContract } from './session-store.contract.js';

describeSessionStoreContract('MemorySessionStore', async (settings) => {
  const store = new MemorySessionStore(settings);
  return {
    store,
    cleanup: async () => store.close(),
  };
});
