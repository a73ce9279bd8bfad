import { describe, expect, it } from '@jest/globals';
import type { ResolvedCookie } from '../options/resolved-options.js';
import { CompositeTransport, CookieTransport, HeaderTransport } from './credential-transport.js';
import type { ResponseWriter, SessionRequest } from './http-message.js';

/** Collects the headers a transport writes, in order. */
class FakeResponse implements ResponseWriter {
  readonly headers: Array<[string, string]> = [];

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
