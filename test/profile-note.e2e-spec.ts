/**
 * Demo app, every strategy: the profile note, and SESSION_MAX_DATA_BYTES. A write that would take
 * the session over the limit is a 413 naming the key, and the session is left as it was, both
 * when the value alone is too big and when it only overflows together with the data already there.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { STRATEGIES, demoEnv, startDemoApp, uniqueUser, type Client, type DemoApp } from './support/demo-app.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

const MAX_DATA_BYTES = 2048;

let redis: SuiteRedis;

beforeAll(async () => {
  redis = await startSuiteRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describe.each(STRATEGIES)('profile note (%s)', (strategy) => {
  let demo: DemoApp;
  let client: Client;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(redis, strategy, 'note', { SESSION_MAX_DATA_BYTES: String(MAX_DATA_BYTES) }));
    client = demo.client();
    await client.login(uniqueUser('note'));
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('stores and reads back a note', async () => {
    expect((await client.get('/profile/note')).body).toEqual({ text: null });
    const put = await client.put('/profile/note', { text: 'hello, wörld' });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ text: 'hello, wörld' });
    expect((await client.get('/profile/note')).body).toEqual({ text: 'hello, wörld' });
  });

  it('answers 400 to a note that is not a string', async () => {
    const res = await client.put('/profile/note', { text: 42 });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(expect.arrayContaining([expect.stringContaining('text')]));
    expect((await client.get('/profile/note')).body).toEqual({ text: 'hello, wörld' });
  });

  it('answers 413 naming "note" to a note over SESSION_MAX_DATA_BYTES, and keeps the previous note', async () => {
    const res = await client.put('/profile/note', { text: 'x'.repeat(MAX_DATA_BYTES + 100) });
    expect(res.status).toBe(413);
    expect(res.body.message).toContain('note');
    expect((await client.get('/profile/note')).body).toEqual({ text: 'hello, wörld' });
    expect((await client.get('/me')).status).toBe(200);
  });

  it('answers 413 naming "note" when the note fits alone but not with the rest of the session, and changes nothing', async () => {
    const fitting = 'a'.repeat(1000);
    expect((await client.put('/profile/note', { text: fitting })).status).toBe(200);
    // 8 items of about 72 bytes each: about 600 bytes besides the note.
    for (let i = 0; i < 8; i++) {
      expect((await client.put(`/cart/${String(i).padStart(64, 'p')}`, { qty: 5 })).status).toBe(200);
    }
    const cartBefore = (await client.get('/cart')).body;

    // 1500 bytes alone is under the limit; with the cart and the username it is over it.
    const res = await client.put('/profile/note', { text: 'b'.repeat(1500) });
    expect(res.status).toBe(413);
    expect(res.body.message).toContain('note');

    expect((await client.get('/profile/note')).body).toEqual({ text: fitting });
    expect((await client.get('/cart')).body).toEqual(cartBefore);
    expect((await client.get('/me')).status).toBe(200);
  });
});
