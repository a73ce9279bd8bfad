/**
 * Demo app, hashed strategy: Redis never holds the client's secret token, only its SHA-256.
 * Proved by scanning every key and every value in Redis (every master of the topology).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { demoEnv, sha256Base64Url, startDemoApp, uniqueUser, type DemoApp } from './support/demo-app.js';
import type { RedisEntry } from './support/redis-server.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

let redis: SuiteRedis;
let demo: DemoApp;

beforeAll(async () => {
  redis = await startSuiteRedis();
  demo = await startDemoApp(demoEnv(redis, 'hashed', 'hashed'));
});

afterAll(async () => {
  await demo?.close();
  await redis?.stop();
});

/** Keys and values (as text) in which `needle` occurs. */
const occurrences = (entries: RedisEntry[], needle: string) =>
  entries.filter((e) => e.key.includes(needle) || e.dump.includes(needle)).map((e) => e.key);

describe('hashed strategy', () => {
  it('leaves no trace of the token in any Redis key or value after a login and a cart write', async () => {
    const client = demo.client();
    const user = uniqueUser('hashed');
    await client.login(user);
    const put = await client.put('/cart/sku-1', { qty: 3 });
    expect(put.status).toBe(200);
    const token = client.credential!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url

    const entries = await redis.entries();
    expect(entries.length).toBeGreaterThan(0);
    expect(occurrences(entries, token)).toEqual([]);

    // The store is keyed by the token's SHA-256 instead, and that session holds the cart.
    const digest = sha256Base64Url(token);
    const sessionKey = `${demo.prefix}{${digest}}`;
    expect(entries.map((e) => e.key)).toContain(sessionKey);
    expect(entries.find((e) => e.key === sessionKey)?.dump).toContain('cart:sku-1');
  });

  it('leaves no trace of a guest token either, nor of the token it had before login', async () => {
    const client = demo.client();
    expect((await client.put('/cart/guest-item', { qty: 1 })).status).toBe(200);
    const guestToken = client.credential!;
    expect(guestToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    let entries = await redis.entries();
    expect(occurrences(entries, guestToken)).toEqual([]);
    expect(entries.map((e) => e.key)).toContain(`${demo.prefix}{${sha256Base64Url(guestToken)}}`);

    await client.login(uniqueUser('guest'));
    const token = client.credential!;
    expect(token).not.toBe(guestToken);
    entries = await redis.entries();
    expect(occurrences(entries, guestToken)).toEqual([]);
    expect(occurrences(entries, token)).toEqual([]);
    // The rotated-away session is retired for the grace, under the token's hash only (the new
    // session names that hash, never the token); the logout of the new session ends it too.
    const retiredKey = `${demo.prefix}{${sha256Base64Url(guestToken)}}`;
    expect(entries.find((e) => e.key === retiredKey)?.dump).toMatch(/(^| )m:r \d+( |$)/);
    expect((await client.post('/auth/logout')).status).toBe(204);
    expect((await redis.entries()).map((e) => e.key)).not.toContain(retiredKey);
  });
});
