// Deliberately does NOT import reflect-metadata or @nestjs/common: the options module must work on
// its own (a unit test, a config script, or an app that imports the options helper before Nest).
import { describe, expect, it } from '@jest/globals';

describe('options module loaded on its own', () => {
  it('validates options without a global reflect-metadata polyfill', async () => {
    expect(typeof (Reflect as { getMetadata?: unknown }).getMetadata).toBe('undefined');
    const { resolveSessionOptions } = await import('./resolved-options.js');
    expect(resolveSessionOptions({ store: 'memory' }).keyPrefix).toBe('sess:');
  });
});
