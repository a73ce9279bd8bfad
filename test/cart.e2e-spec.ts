/**
 * Demo app, every strategy: the cart lives in the session, one field per item, so concurrent
 * updates of different items on one session are all kept. Plus sku/qty validation and DELETE.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { STRATEGIES, demoEnv, startDemoApp, uniqueUser, type Client, type DemoApp } from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

let redis: SuiteRedis;

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

/**
 * 20 skus whose code-unit order differs from a locale-aware order: '-' < digits < upper case <
 * '_' < lower case, and 'B' < 'a'.
 */
const SKUS = [
  'b', 'B', 'a', 'A', '_x', '-x', '9', '10', 'Z', 'z', 'a-b', 'a_b', 'aB', 'ab', 'x'.repeat(64), 'Aa', 'AA', '0', '__', '--',
];
const codeUnitOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe.each(STRATEGIES)('cart (%s)', (strategy) => {
  let demo: DemoApp;
  let client: Client;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(redis, strategy, 'cart'));
    client = demo.client();
    await client.login(uniqueUser('cart'));
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('keeps all of 20 parallel PUTs of different items on one session, listed in code-unit order', async () => {
    const credential = client.credential;
    const puts = await Promise.all(SKUS.map((sku, i) => client.as(credential).put(`/cart/${sku}`, { qty: i + 1 })));
    expect(puts.map((r) => r.status)).toEqual(SKUS.map(() => 200));
    expect(puts.map((r) => r.body)).toEqual(SKUS.map((sku, i) => ({ sku, qty: i + 1 })));
    // Nobody got a new credential: they all wrote to the one existing session.
    expect(puts.flatMap((r) => r.headers['set-cookie'] ?? [])).toEqual([]);

    const list = await client.get('/cart');
    expect(list.status).toBe(200);
    const expected = SKUS.map((sku, i) => ({ sku, qty: i + 1 })).sort((a, b) => codeUnitOrder(a.sku, b.sku));
    expect(list.body).toEqual({ items: expected });
    // Sanity check of the fixture: a locale-aware sort would give a different order.
    expect(expected.map((i) => i.sku)).not.toEqual([...SKUS].sort((a, b) => a.localeCompare(b)));
  });

  it('updates an item in place', async () => {
    expect((await client.put('/cart/b', { qty: 999 })).body).toEqual({ sku: 'b', qty: 999 });
    const items = (await client.get('/cart')).body.items as Array<{ sku: string; qty: number }>;
    expect(items.filter((i) => i.sku === 'b')).toEqual([{ sku: 'b', qty: 999 }]);
    expect(items).toHaveLength(SKUS.length);
  });

  it('deletes an item with 204, and answers 204 again when it is already absent', async () => {
    const first = await client.delete('/cart/a');
    expect(first.status).toBe(204);
    expect(first.text).toBe('');
    const skus = ((await client.get('/cart')).body.items as Array<{ sku: string }>).map((i) => i.sku);
    expect(skus).not.toContain('a');
    expect(skus).toHaveLength(SKUS.length - 1);

    expect((await client.delete('/cart/a')).status).toBe(204);
    expect((await client.delete('/cart/never-there')).status).toBe(204);
    expect((await client.get('/cart')).body.items).toHaveLength(SKUS.length - 1);
  });

  it.each([
    ['65 characters', 'y'.repeat(65)],
    ['a dot', 'a.b'],
    ['a space', 'a%20b'],
    ['a brace', '%7Bx%7D'],
    ['an asterisk', 'a*b'],
    ['non-ASCII', '%C3%A9'],
  ])('answers 400 to a sku with %s (PUT and DELETE)', async (_label, sku) => {
    const put = await client.put(`/cart/${sku}`, { qty: 1 });
    expect(put.status).toBe(400);
    expect(put.body.message).toEqual(expect.arrayContaining([expect.stringContaining('sku')]));
    expect((await client.delete(`/cart/${sku}`)).status).toBe(400);
  });

  it.each([
    ['0', { qty: 0 }],
    ['1000', { qty: 1000 }],
    ['"x"', { qty: 'x' }],
    ['1.5', { qty: 1.5 }],
    ['missing', {}],
    ['with an unknown field', { qty: 1, price: 3 }],
  ])('answers 400 with the reasons to qty %s', async (_label, body) => {
    const res = await client.put('/cart/valid-sku', body);
    expect(res.status).toBe(400);
    expect(Array.isArray(res.body.message)).toBe(true);
    expect(res.body.message.join(' ')).toMatch(/qty|price/);
    const skus = ((await client.get('/cart')).body.items as Array<{ sku: string }>).map((i) => i.sku);
    expect(skus).not.toContain('valid-sku');
  });

  it('accepts the boundaries: qty 1 and 999, a 64-character sku', async () => {
    expect((await client.put('/cart/low', { qty: 1 })).status).toBe(200);
    expect((await client.put('/cart/high', { qty: 999 })).status).toBe(200);
    expect((await client.put(`/cart/${'k'.repeat(64)}`, { qty: 5 })).status).toBe(200);
  });
});
