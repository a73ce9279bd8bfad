import { describe, expect, it, jest } from '@jest/globals';
import type { ResolvedCookie } from '../options/resolved-options.js';
import { parseCookie } from 'cookie';
import { CompositeTransport, CookieTransport, HeaderTransport, onlyCookie, REPEATED } from './credential-transport.js';
import type { ResponseWriter, SessionRequest } from './http-message.js';

/** Collects the headers a transport writes, in order. */
class FakeResponse implements ResponseWriter {
  readonly headers: Array<[string, string]> = [];
  readonly headersWritable = true;

  appendHeader(name: string, value: string): void {
    this.headers.push([name, value]);
  }

  values(name: string): string[] {
    return this.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
  }
}

/** The attributes of one Set-Cookie line, names lower-cased; flags map to true. */
function attributes(setCookie: string): { pair: string; attrs: Record<string, string | true> } {
  const [pair, ...rest] = setCookie.split(';').map((part) => part.trim());
  const attrs: Record<string, string | true> = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq === -1) attrs[part.toLowerCase()] = true;
    else attrs[part.slice(0, eq).toLowerCase()] = part.slice(eq + 1);
  }
  return { pair, attrs };
}

const HOST_COOKIE: ResolvedCookie = { name: '__Host-sid', path: '/', sameSite: 'lax', secure: true, maxAge: null };
const request = (headers: Record<string, string | string[]>): SessionRequest => ({ headers });
const TOKEN = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';

describe('CookieTransport write', () => {
  it('sets an HttpOnly, Secure, SameSite=Lax, Path=/ cookie living until the session deadline', () => {
    const response = new FakeResponse();
    new CookieTransport(HOST_COOKIE).write(response, TOKEN, Date.now() + 3600_000);
    expect(response.headers).toHaveLength(1);
    expect(response.headers[0][0]).toBe('Set-Cookie');
    const { pair, attrs } = attributes(response.headers[0][1]);
    expect(pair).toBe(`__Host-sid=${TOKEN}`);
    expect(attrs).toEqual({ httponly: true, secure: true, samesite: 'Lax', path: '/', 'max-age': expect.any(String) });
    const maxAge = Number(attrs['max-age']);
    expect(maxAge).toBeGreaterThanOrEqual(3598);
    expect(maxAge).toBeLessThanOrEqual(3600);
  });

  it('uses a configured maxAge, domain, path and sameSite; omits Secure when secure is false', () => {
    const response = new FakeResponse();
    const cookie: ResolvedCookie = { name: 'sid', domain: 'example.com', path: '/app', sameSite: 'strict', secure: false, maxAge: 900 };
    new CookieTransport(cookie).write(response, TOKEN, Date.now() + 3600_000);
    const { pair, attrs } = attributes(response.values('set-cookie')[0]);
    expect(pair).toBe(`sid=${TOKEN}`);
    expect(attrs).toEqual({ httponly: true, samesite: 'Strict', path: '/app', domain: 'example.com', 'max-age': '900' });
  });

  it('never writes Max-Age=0 for a live credential whose deadline is about to pass', () => {
    const response = new FakeResponse();
    new CookieTransport(HOST_COOKIE).write(response, TOKEN, Date.now() + 200);
    expect(attributes(response.values('set-cookie')[0]).attrs['max-age']).toBe('1');
  });
});

describe('CookieTransport clear', () => {
  it('expires the cookie with Max-Age=0 and an Expires in 1970', () => {
    const response = new FakeResponse();
    new CookieTransport(HOST_COOKIE).clear(response);
    const { pair, attrs } = attributes(response.values('set-cookie')[0]);
    expect(pair).toBe('__Host-sid=');
    expect(attrs['max-age']).toBe('0');
    expect(attrs.expires).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
    expect(attrs).toMatchObject({ httponly: true, secure: true, samesite: 'Lax', path: '/' });
  });

  it('uses the same Path, Domain and SameSite as the cookie it clears', () => {
    const cookie: ResolvedCookie = { name: 'sid', domain: 'example.com', path: '/app', sameSite: 'none', secure: true, maxAge: 900 };
    const transport = new CookieTransport(cookie);
    const response = new FakeResponse();
    transport.write(response, TOKEN, Date.now() + 3600_000);
    transport.clear(response);
    const [written, cleared] = response.values('set-cookie').map(attributes);
    expect(cleared.pair).toBe('sid=');
    for (const attr of ['path', 'domain', 'samesite', 'secure', 'httponly']) {
      expect(cleared.attrs[attr]).toBe(written.attrs[attr]);
    }
    expect(cleared.attrs).toMatchObject({ path: '/app', domain: 'example.com', samesite: 'None', 'max-age': '0' });
  });
});

describe('CookieTransport read', () => {
  const transport = new CookieTransport(HOST_COOKIE);

  it('reads its cookie among others and ignores similarly named ones', () => {
    expect(transport.read(request({ cookie: `a=1; __Host-sid=${TOKEN}; b=2` }))).toEqual({ kind: 'present', value: TOKEN });
    expect(transport.read(request({ cookie: `sid=${TOKEN}; __Host-sidx=${TOKEN}` }))).toEqual({ kind: 'none' });
    expect(transport.read(request({}))).toEqual({ kind: 'none' });
  });

  it('reports duplicates, an empty value and an over-long header as unusable', () => {
    expect(transport.read(request({ cookie: `__Host-sid=${TOKEN};__Host-sid=${TOKEN}` }))).toEqual({ kind: 'unusable' });
    expect(transport.read(request({ cookie: '__Host-sid=' }))).toEqual({ kind: 'unusable' });
    const long = `__Host-sid=${TOKEN}; pad=${'x'.repeat(16 * 1024)}`;
    expect(transport.read(request({ cookie: long }))).toEqual({ kind: 'unusable' });
  });

  it('returns the raw value without percent-decoding', () => {
    expect(transport.read(request({ cookie: '__Host-sid=abc%7Bdef%7D' }))).toEqual({ kind: 'present', value: 'abc%7Bdef%7D' });
  });
});

describe('onlyCookie', () => {
  /** parseCookie keeps the first of a repeated name, so repeats are counted the way it splits pairs. */
  const reference = (header: string, name: string): string | null | typeof REPEATED => {
    const named = header.split(';').filter((pair) => pair.includes('=') && pair.slice(0, pair.indexOf('=')).replace(/^[ \t]+|[ \t]+$/g, '') === name);
    if (named.length > 1) return REPEATED;
    return named.length === 0 ? null : (parseCookie(header, { decode: (value) => value })[name] ?? null);
  };

  it("agrees with the cookie package's parser on 20,000 generated headers", () => {
    // Deterministic (an LCG). Half are pairs built from names and values near the edge cases,
    // half a soup of the characters the parsing rules turn on.
    let seed = 42;
    const pick = <T>(list: readonly T[]): T => list[Math.floor((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 * list.length)] as T;
    const names = ['sid', 'sid', ' sid ', '\tsid', '\u00a0sid', 'sidx', 'xsid', 's id', ''];
    const values = ['', 'v', ' v\t', 'a=b', '%41', '"q"', ';'];
    const separators = [';', '; ', ';;', ' ;\t'];
    const soup = ['s', 'i', 'd', 'sid', '=', ';', ' ', '\t', 'x'];
    const counts = { none: 0, found: 0, repeated: 0 };
    for (let i = 0; i < 20_000; i++) {
      const size = pick([0, 1, 2, 3, 4, 6]);
      const header =
        i % 2 === 0
          ? Array.from({ length: size }, () => `${pick(names)}${pick(['=', '=', '=', ''])}${pick(values)}`).join(pick(separators))
          : Array.from({ length: size * 3 }, () => pick(soup)).join('');
      const expected = reference(header, 'sid');
      expect([header, onlyCookie(header, 'sid')]).toEqual([header, expected]);
      counts[expected === REPEATED ? 'repeated' : expected === null ? 'none' : 'found']++;
    }
    // The generator reaches every outcome often.
    expect(Math.min(counts.none, counts.found, counts.repeated)).toBeGreaterThan(1_000);
  });

  it('skips a run of pairs without "=" in one search, not one search per pair', () => {
    // Searching for "=" again from each pair made 16 KB of ";" cost about 4 ms, every request.
    // Counted in searches rather than timed: the count is exact on any machine.
    const header = `${';'.repeat(16_000)}sid=x; ${'a;'.repeat(4_000)}`;
    const searches = [jest.spyOn(String.prototype, 'indexOf'), jest.spyOn(String.prototype, 'lastIndexOf')];
    let value: ReturnType<typeof onlyCookie>;
    let calls: number;
    try {
      value = onlyCookie(header, 'sid');
      calls = searches.reduce((sum, search) => sum + search.mock.calls.length, 0);
    } finally {
      searches.forEach((search) => search.mockRestore());
    }
    expect(value).toBe('x');
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(10);
  });

  it('takes the value after the first "=", trimmed of spaces and tabs only', () => {
    expect(onlyCookie(' a=1 ;\tsid \t=  x=y \t; b', 'sid')).toBe('x=y');
    expect(onlyCookie('sid=\u00a0x', 'sid')).toBe('\u00a0x');
    expect(onlyCookie('sidx=1; xsid=2; sid', 'sid')).toBeNull();
  });
});

describe('HeaderTransport bearer parsing', () => {
  const bearer = new HeaderTransport('authorization');

  it.each([
    ['Bearer', `Bearer ${TOKEN}`],
    ['lower-case scheme', `bearer ${TOKEN}`],
    ['upper-case scheme', `BEARER ${TOKEN}`],
    ['extra spaces', `Bearer    ${TOKEN}   `],
  ])('reads the token with %s', (_label, value) => {
    expect(bearer.read(request({ authorization: value }))).toEqual({ kind: 'present', value: TOKEN });
  });

  it.each([
    ['another scheme', 'Basic x'],
    ['Basic credentials', `Basic ${Buffer.from('user:pass').toString('base64')}`],
    ['a missing token', 'Bearer'],
    ['a missing token after spaces', 'Bearer   '],
    ['two tokens', `Bearer ${TOKEN} ${TOKEN}`],
    ['no scheme', TOKEN],
    ['a scheme glued to the token', `Bearer${TOKEN}`],
  ])('refuses %s', (_label, value) => {
    expect(bearer.read(request({ authorization: value }))).toEqual({ kind: 'unusable' });
  });

  it('refuses a repeated header but accepts a one-element list', () => {
    expect(bearer.read(request({ authorization: [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`] }))).toEqual({ kind: 'unusable' });
    expect(bearer.read(request({ authorization: [`Bearer ${TOKEN}`] }))).toEqual({ kind: 'present', value: TOKEN });
  });

  it("counts repeats in Node's raw header lines, where `headers` keeps only the first", () => {
    // What Node gives a handler for two Authorization lines (on Fastify, under `raw`).
    const rawHeaders = ['Host', 'x', 'Authorization', `Bearer ${TOKEN}`, 'authorization', 'Bearer other'];
    const headers = { authorization: `Bearer ${TOKEN}` };
    expect(bearer.read({ headers, rawHeaders })).toEqual({ kind: 'unusable' });
    expect(bearer.read({ headers, raw: { rawHeaders } })).toEqual({ kind: 'unusable' });
    expect(bearer.read({ headers, rawHeaders: rawHeaders.slice(0, 4) })).toEqual({ kind: 'present', value: TOKEN });
  });

  it('finds nothing without the header', () => {
    expect(bearer.read(request({ cookie: `__Host-sid=${TOKEN}` }))).toEqual({ kind: 'none' });
  });

  it('refuses an over-long token', () => {
    expect(bearer.read(request({ authorization: `Bearer ${'a'.repeat(4097)}` }))).toEqual({ kind: 'unusable' });
    expect(bearer.read(request({ authorization: `Bearer ${'a'.repeat(4096)}` }))).toEqual({ kind: 'present', value: 'a'.repeat(4096) });
  });

  it('writes and clears nothing (the app hands a bearer token out in the body)', () => {
    const response = new FakeResponse();
    bearer.write(response, TOKEN);
    bearer.clear();
    expect(response.headers).toEqual([]);
  });
});

describe('HeaderTransport with a custom header', () => {
  const custom = new HeaderTransport('x-session-id');

  it('reads the trimmed raw value and refuses an empty or repeated one', () => {
    expect(custom.read(request({ 'x-session-id': ` ${TOKEN} ` }))).toEqual({ kind: 'present', value: TOKEN });
    expect(custom.read(request({ 'x-session-id': '   ' }))).toEqual({ kind: 'unusable' });
    expect(custom.read(request({ 'x-session-id': [TOKEN, TOKEN] }))).toEqual({ kind: 'unusable' });
  });

  it('sends a new credential in the same header', () => {
    const response = new FakeResponse();
    custom.write(response, TOKEN);
    expect(response.headers).toEqual([['x-session-id', TOKEN]]);
  });
});

describe('CompositeTransport', () => {
  const composite = new CompositeTransport([new CookieTransport(HOST_COOKIE), new HeaderTransport('x-session-id')]);

  it('lets the first transport that finds something decide', () => {
    expect(composite.read(request({ 'x-session-id': TOKEN }))).toEqual({ kind: 'present', value: TOKEN });
    expect(composite.read(request({ cookie: '__Host-sid=cookie-value', 'x-session-id': TOKEN }))).toEqual({
      kind: 'present',
      value: 'cookie-value',
    });
    // An unusable cookie is not overridden by a usable header.
    expect(composite.read(request({ cookie: '__Host-sid=', 'x-session-id': TOKEN }))).toEqual({ kind: 'unusable' });
  });

  it('writes to the first transport only and clears every transport', () => {
    const response = new FakeResponse();
    composite.write(response, TOKEN, Date.now() + 60_000);
    expect(response.headers.map(([name]) => name)).toEqual(['Set-Cookie']);
    const cleared = new FakeResponse();
    composite.clear(cleared);
    expect(cleared.values('set-cookie')).toHaveLength(1);
    expect(cleared.values('set-cookie')[0]).toContain('Max-Age=0');
  });
});
