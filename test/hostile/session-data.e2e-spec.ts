/**
 * Hostile input, part 3: session data written by the app. Prototype keys, metadata name clashes,
 * values JSON cannot carry and values over maxDataBytes, through the demo (cart skus, notes) and,
 * for keys and values the demo's DTOs never let through, a fixture app on the library itself.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Post, Put } from '@nestjs/common';
import { AllowAnonymous, Session, SessionService, type UserSession } from '@app/session';
import { sha256Base64Url, uniqueUser, type Client, type DemoApp, type StrategyName } from '../support/demo-app.js';
import { World, answer, send } from './harness.js';

const world = new World();
const STRATEGIES = ['session-id', 'hashed', 'jwt'] as const;
const MAX_BYTES = 1024;

beforeAll(async () => {
  await world.start();
});

afterEach(async () => {
  await world.checkInvariants();
});

afterAll(async () => {
  await world.stop();
});

/** The Redis key of a client's session. */
function keyOf(demo: DemoApp, client: Client): string {
  const credential = client.credential!;
  const storeId =
    demo.strategy === 'hashed'
      ? sha256Base64Url(credential)
      : demo.strategy === 'jwt'
        ? (JSON.parse(Buffer.from(credential.split('.')[1], 'base64url').toString()).sid as string)
        : credential;
  return `${demo.prefix}{${storeId}}`;
}

const tooLarge = (key: string) => ({
  statusCode: 413,
  message: `Session data too large: writing "${key}" would exceed maxDataBytes (${MAX_BYTES} bytes)`,
  error: 'Payload Too Large',
});

// ---------------------------------------------------------------------------------------------
// Through the demo
// ---------------------------------------------------------------------------------------------

describe.each(STRATEGIES)('demo (%s)', (strategy) => {
  let demo: DemoApp;
  let client: Client;
  let user: string;

  beforeAll(async () => {
    demo = await world.boot(strategy, { label: 'data', env: { SESSION_MAX_DATA_BYTES: String(MAX_BYTES) } });
    client = demo.client();
    user = uniqueUser('data');
    await client.login(user);
  });

  it.each(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__', '__lookupSetter__'])(
    'stores a cart item with the sku %s as plain data',
    async (sku) => {
      const session = keyOf(demo, client);
      const put = await world.observe({ changes: [session] }, () => client.put(`/cart/${sku}`, { qty: 3 }));
      expect(put.result.status).toBe(200);
      expect(put.result.body).toEqual({ sku, qty: 3 });
      expect(await world.admin.hget(session, `d:cart:${sku}`)).toBe('3');

      const list = await world.observe({ redis: 'no-writes' }, () => client.get('/cart'));
      expect(list.result.body.items).toEqual(expect.arrayContaining([{ sku, qty: 3 }]));
      const del = await world.observe({ changes: [session] }, () => client.delete(`/cart/${sku}`));
      expect(del.result.status).toBe(204);
      expect(await world.admin.hexists(session, `d:cart:${sku}`)).toBe(0);
    },
  );

  it.each([
    ['__proto__', '{"qty":1,"__proto__":{"polluted":true,"isAdmin":true}}'],
    ['constructor.prototype', '{"qty":1,"constructor":{"prototype":{"polluted":true}}}'],
  ])('drops %s from a cart body (class-transformer skips it): only qty is stored, nothing is polluted', async (_label, raw) => {
    const session = keyOf(demo, client);
    const { result } = await world.observe({ changes: [session] }, () =>
      client.send('put', '/cart/proto-body', raw, { 'Content-Type': 'application/json' }),
    );
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ sku: 'proto-body', qty: 1 });
    const fields = Object.keys(await world.admin.hgetall(session)).filter((f) => f.startsWith('d:'));
    expect(fields.filter((f) => !f.startsWith('d:cart:') && f !== 'd:username' && f !== 'd:note')).toEqual([]);
    expect((await client.delete('/cart/proto-body')).status).toBe(204);
  });

  it('refuses a cart body whose qty is an object with __proto__ (400, nothing written)', async () => {
    const { result } = await world.observe({ redis: 'no-writes' }, () =>
      client.send('put', '/cart/proto-body', '{"qty":{"__proto__":{"polluted":true}}}', { 'Content-Type': 'application/json' }),
    );
    expect(result.status).toBe(400);
    expect(result.body.message).toEqual(expect.arrayContaining(['qty must be an integer']));
  });

  it.each([
    ['text that closes the JSON and names metadata', '"}],"m:u":"mallory","d:x":"'],
    ['a lone surrogate', 'a\ud800b'],
    ['a NUL and control characters', 'a\u0000b\u0007c\r\nSet-Cookie: x=1'],
    ['the text "__proto__"', '__proto__'],
  ])('stores and returns a note with %s unchanged; the user is unchanged', async (_label, text) => {
    const session = keyOf(demo, client);
    const put = await world.observe({ changes: [session] }, () => client.put('/profile/note', { text }));
    expect(put.result.status).toBe(200);
    const get = await world.observe({ redis: 'no-writes' }, () => client.get('/profile/note'));
    expect(get.result.body).toEqual({ text });
    expect(await world.admin.hget(session, 'm:u')).toBe(user);
    expect((await client.get('/me')).body.userId).toBe(user);
    expect(answer(put.result).setCookie).toEqual([]);
  });

  it('answers 413 naming "note" for a note over maxDataBytes; the old note stays and nothing is written', async () => {
    expect((await client.put('/profile/note', { text: 'kept' })).status).toBe(200);
    const { result } = await world.observe({ redis: 'no-writes' }, () => client.put('/profile/note', { text: 'x'.repeat(MAX_BYTES) }));
    expect(result.status).toBe(413);
    expect(result.body).toEqual(tooLarge('note'));
    expect((await client.get('/profile/note')).body).toEqual({ text: 'kept' });
  });

  it('counts bytes, not characters: 400 euro signs (1200 bytes) are a 413', async () => {
    const { result } = await world.observe({ redis: 'no-writes' }, () => client.put('/profile/note', { text: '\u20ac'.repeat(400) }));
    expect(result.status).toBe(413);
    expect(result.body).toEqual(tooLarge('note'));
  });

  it('answers 413 naming the cart item that tips a nearly full session over the limit (checked in Redis, nothing written)', async () => {
    expect((await client.put('/profile/note', { text: 'n'.repeat(MAX_BYTES - 60) })).status).toBe(200);
    const { result } = await world.observe({ redis: 'no-writes' }, () => client.put(`/cart/${'s'.repeat(64)}`, { qty: 999 }));
    expect(result.status).toBe(413);
    expect(result.body).toEqual(tooLarge(`cart:${'s'.repeat(64)}`));
    expect((await client.put('/profile/note', { text: 'short again' })).status).toBe(200);
  });

  if (strategy !== 'jwt') {
    it('answers 413 to a guest whose first write is over the limit, and creates no session and no cookie', async () => {
      const guest = demo.client();
      const { result } = await world.observe({ redis: 'none' }, () => guest.put('/profile/note', { text: 'g'.repeat(MAX_BYTES) }));
      expect(result.status).toBe(413);
      expect(result.body).toEqual(tooLarge('note'));
      expect(answer(result).setCookie).toEqual([]);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Through the library: keys and values the demo never lets through
// ---------------------------------------------------------------------------------------------

/** Values an app might try to store, by name (so a test table can name them). */
function hostileValue(kind: string, raw: unknown): unknown {
  switch (kind) {
    case 'json': return raw;
    case 'NaN': return NaN;
    case 'Infinity': return Infinity;
    case '-Infinity': return -Infinity;
    case 'BigInt': return BigInt(7);
    case 'undefined': return undefined;
    case 'a function': return () => 1;
    case 'a symbol': return Symbol('s');
    case 'a cyclic object': { const o: Record<string, unknown> = {}; o.self = o; return o; }
    case 'a nested NaN': return { a: [1, NaN] };
    case 'a nested BigInt': return { a: { b: BigInt(1) } };
    case 'a nested function': return { name: 'x', run: () => 1 };
    case 'a nested symbol': return { name: 'x', tag: Symbol('t') };
    case 'undefined in a list': return [1, undefined, 3];
    case 'a Map': return new Map([['a', 1]]);
    case 'a Set': return new Set([1, 2]);
    case 'a nested Map': return { cache: new Map([['a', 1]]) };
    case 'a toJSON that throws': return { toJSON() { throw new Error('boom'); } };
    case 'a Date': return new Date(0);
    default: throw new Error(`unknown kind ${kind}`);
  }
}

@Controller()
class DataController {
  @AllowAnonymous()
  @Post('auth/login')
  @HttpCode(200)
  async login(@Body() body: { username: string }, @Session() session: UserSession) {
    await session.logIn(body.username);
    return { userId: body.username, token: session.token };
  }

  @Put('data')
  put(@Body() body: { key: string; kind: string; value?: unknown }, @Session() session: UserSession) {
    session.set(body.key, hostileValue(body.kind, body.value));
    return { ok: true };
  }

  @Post('data/delete')
  @HttpCode(204)
  remove(@Body() body: { key: string }, @Session() session: UserSession): void {
    session.delete(body.key);
  }

  @Post('data/increment')
  @HttpCode(200)
  async increment(@Body() body: { key: string; by: number }, @Session() session: UserSession) {
    return { value: await session.increment(body.key, body.by) };
  }

  @Get('data')
  read(@Session() session: UserSession) {
    const keys = session.keys();
    // fromEntries defines own properties: a "__proto__" key stays data.
    return { userId: session.userId, keys, values: Object.fromEntries(keys.map((k) => [k, session.get(k)])) };
  }
}

describe.each(STRATEGIES)('library fixture (%s)', (strategy) => {
  let app: DemoApp;
  let client: Client;
  let user: string;
  let session: string;

  beforeAll(async () => {
    app = await world.bootLibrary({ strategy: strategy as StrategyName, maxDataBytes: MAX_BYTES, cookie: { secure: false }, ...(strategy === 'jwt' ? { jwt: { secret: 'f'.repeat(40) } } : {}) }, [DataController]);
    client = app.client();
    user = uniqueUser('fx');
    await client.login(user);
    session = keyOf(app, client);
  });

  const read = async () => (await client.get('/data')).body as { userId: string; keys: string[]; values: Record<string, unknown> };

  it.each(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', '__defineSetter__', 'toJSON'])(
    'keeps a data key %s as plain data: it round-trips and pollutes nothing',
    async (key) => {
      const put = await world.observe({ changes: [session] }, () => client.put('/data', { key, kind: 'json', value: { polluted: true, isAdmin: true } }));
      expect(put.result.status).toBe(200);
      expect(await world.admin.hget(session, `d:${key}`)).toBe('{"polluted":true,"isAdmin":true}');
      const data = await read();
      expect(data.keys).toContain(key);
      expect(Object.getOwnPropertyDescriptor(data.values, key)?.value).toEqual({ polluted: true, isAdmin: true });
      expect(data.userId).toBe(user);
      expect((await client.post('/data/delete', { key })).status).toBe(204);
    },
  );

  it('SessionService.get returns a "__proto__" data key as an own property, not as the prototype of data', async () => {
    expect((await client.put('/data', { key: '__proto__', kind: 'json', value: { polluted: true, isAdmin: true } })).status).toBe(200);
    const service = app.app.get(SessionService);
    const { result: snapshot } = await world.observe({ redis: 'no-writes' }, () => service.get(client.credential!));
    const data = snapshot!.data as Record<string, unknown>;
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(data.isAdmin).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(data, '__proto__')?.value).toEqual({ polluted: true, isAdmin: true });
    expect((await client.post('/data/delete', { key: '__proto__' })).status).toBe(204);
  });

  it.each([
    ['m:u', 'mallory'],
    ['m:d', 9_999_999_999_999],
    ['m:s', -100000],
    ['m:k', 'session-id'],
    ['m:h', 'AAAAAAAAAAAAAAAAAAAAAA'],
    ['d:nested', 'x'],
  ])('a data key %s cannot touch the metadata field of that name', async (key, value) => {
    const before = await world.admin.hgetall(session);
    const ttlBefore = await world.admin.pexpiretime(session);
    const { result } = await world.observe({ changes: [session] }, () => client.put('/data', { key, kind: 'json', value }));
    expect(result.status).toBe(200);
    const after = await world.admin.hgetall(session);
    expect(after[`d:${key}`]).toBe(JSON.stringify(value));
    for (const meta of ['m:u', 'm:d', 'm:h', 'm:k', 'm:c', 'm:v']) expect(after[meta]).toBe(before[meta]);
    expect(await world.admin.pexpiretime(session)).toBeGreaterThanOrEqual(ttlBefore);
    expect(await world.admin.pexpiretime(session)).toBeLessThanOrEqual(Number(before['m:d']));
    const data = await read();
    expect(data.userId).toBe(user);
    expect(data.values[key]).toEqual(value);
    expect((await client.post('/data/delete', { key })).status).toBe(204);
  });

  it('size accounting ignores a data key named m:s: the limit still holds', async () => {
    expect((await client.put('/data', { key: 'm:s', kind: 'json', value: -999999 })).status).toBe(200);
    const { result } = await world.observe({ redis: 'no-writes' }, () => client.put('/data', { key: 'big', kind: 'json', value: 'b'.repeat(MAX_BYTES) }));
    expect(result.status).toBe(413);
    expect(result.body).toEqual(tooLarge('big'));
    expect((await client.post('/data/delete', { key: 'm:s' })).status).toBe(204);
  });

  it.each([
    ['an empty key', ''],
    ['a key with a newline', 'a\nb'],
    ['a key with a NUL', 'a\u0000'],
    ['a key of 201 characters', 'k'.repeat(201)],
  ])('refuses %s with 400 and writes nothing', async (_label, key) => {
    const { result } = await world.observe({ redis: 'no-writes' }, () => client.put('/data', { key, kind: 'json', value: 1 }));
    expect(result.status).toBe(400);
    expect(result.body.message).toMatch(/^Session keys must be 1-200 characters without control characters/);
  });

  it.each([
    'NaN', 'Infinity', '-Infinity', 'BigInt', 'undefined', 'a function', 'a symbol', 'a cyclic object', 'a nested NaN',
    'a nested BigInt', 'a nested function', 'a nested symbol', 'undefined in a list', 'a Map', 'a Set', 'a nested Map',
    'a toJSON that throws',
  ])('refuses %s (JSON cannot carry it) with a 400 naming the key; nothing is written', async (kind) => {
    const { result } = await world.observe({ redis: 'no-writes' }, () => client.put('/data', { key: 'odd', kind }));
    expect(result.status).toBe(400);
    expect(result.body).toEqual({ statusCode: 400, message: expect.stringContaining('"odd"'), error: 'Bad Request' });
  });

  it('stores a Date as its JSON text (an ISO string), as JSON does', async () => {
    const { result } = await world.observe({ changes: [session] }, () => client.put('/data', { key: 'when', kind: 'a Date' }));
    expect(result.status).toBe(200);
    expect((await read()).values.when).toBe('1970-01-01T00:00:00.000Z');
    expect((await client.post('/data/delete', { key: 'when' })).status).toBe(204);
  });

  it.each([
    ['a step that is not a safe integer', 'n', 2 ** 53, 400],
    ['a value that is not an integer', 'text', 1, 400],
  ])('increment refuses %s with 400', async (_label, key, by, status) => {
    expect((await client.put('/data', { key: 'text', kind: 'json', value: 'abc' })).status).toBe(200);
    expect((await client.post('/data/increment', { key: 'n', by: 1 })).status).toBe(200);
    const { result } = await world.observe({ redis: 'no-writes' }, () => client.post('/data/increment', { key, by }));
    expect(result.status).toBe(status);
    expect(result.body.message).toMatch(/^increment\("/);
  });

  it('increment over maxDataBytes is a 413 naming the key, and nothing is written', async () => {
    expect((await client.put('/data', { key: 'filler', kind: 'json', value: 'f'.repeat(MAX_BYTES - 150) })).status).toBe(200);
    const key = `counter-${'c'.repeat(150)}`;
    const { result } = await world.observe({ redis: 'no-writes' }, () => client.post('/data/increment', { key, by: 123456789 }));
    expect(result.status).toBe(413);
    expect(result.body).toEqual(tooLarge(key));
    expect((await client.post('/data/delete', { key: 'filler' })).status).toBe(204);
  });
});
