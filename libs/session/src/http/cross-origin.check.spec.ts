import { describe, expect, it } from '@jest/globals';
import { crossOriginRefusal } from './cross-origin.check.js';

const csrf = { trustedOrigins: new Set(['https://admin.example.com']) };
const request = (method: string, headers: Record<string, string | string[]>) => ({ method, headers: { host: 'app.example.com', ...headers } });
const refused = (method: string, headers: Record<string, string | string[]>) => crossOriginRefusal(request(method, headers), csrf);

describe('crossOriginRefusal', () => {
  it.each(['GET', 'HEAD', 'OPTIONS', 'get'])('lets a safe method through whatever its origin (%s)', (method) => {
    expect(refused(method, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).toBeNull();
  });

  it('lets a request with neither Origin nor Sec-Fetch-Site through (not a browser)', () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(refused(method, {})).toBeNull();
  });

  it.each([
    ['same-origin', {}],
    ['none (typed URL, bookmark)', {}],
    ['same-origin with an Origin that matches', { origin: 'https://app.example.com' }],
  ])('lets Sec-Fetch-Site %s through', (label, extra) => {
    const site = label.split(' ')[0];
    expect(refused('POST', { 'sec-fetch-site': site, ...extra })).toBeNull();
  });

  it('refuses Sec-Fetch-Site cross-site and same-site with a reason naming the header and the origin', () => {
    expect(refused('POST', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' })).toBe(
      'Cross-origin request refused (CSRF protection): Sec-Fetch-Site is "cross-site" and Origin "https://evil.example" is not trusted',
    );
    expect(refused('DELETE', { 'sec-fetch-site': 'same-site' })).toBe(
      'Cross-origin request refused (CSRF protection): Sec-Fetch-Site is "same-site"',
    );
  });

  it('lets a trusted origin through even when the browser calls it cross-site', () => {
    expect(refused('PUT', { 'sec-fetch-site': 'cross-site', origin: 'https://admin.example.com' })).toBeNull();
    expect(refused('PUT', { origin: 'https://admin.example.com' })).toBeNull();
  });

  it('without Sec-Fetch-Site, compares Origin with Host (an older browser)', () => {
    expect(refused('POST', { origin: 'https://app.example.com' })).toBeNull();
    expect(refused('POST', { origin: 'http://APP.example.com' })).toBeNull();
    expect(refused('POST', { origin: 'https://app.example.com:8443' })).toMatch(/Origin "https:\/\/app.example.com:8443" is neither/);
    expect(refused('PATCH', { origin: 'https://evil.example' })).toBe(
      'Cross-origin request refused (CSRF protection): Origin "https://evil.example" is neither this site nor a trusted origin',
    );
    expect(refused('POST', { origin: 'null' })).toMatch(/Origin "null"/);
  });

  it('refuses an Origin of "null" or garbage when there is no Host either (unknown is not the same site)', () => {
    for (const origin of ['null', 'not a url']) {
      expect(crossOriginRefusal({ method: 'POST', headers: { origin } }, csrf)).toMatch(/is neither this site nor a trusted origin/);
      // Two Host lines are ambiguous, so no usable Host either.
      const twoHosts = { method: 'POST', headers: { origin, host: 'app.example.com' }, rawHeaders: ['Host', 'app.example.com', 'Host', 'evil.example', 'Origin', origin] };
      expect(crossOriginRefusal(twoHosts, csrf)).toMatch(/is neither this site/);
    }
  });

  it('uses :authority when there is no Host (HTTP/2)', () => {
    const h2 = { method: 'POST', headers: { ':authority': 'app.example.com', origin: 'https://app.example.com' } };
    expect(crossOriginRefusal(h2, csrf)).toBeNull();
  });

  it('refuses repeated Origin or Sec-Fetch-Site headers, and bounds what it echoes', () => {
    expect(refused('POST', { origin: ['https://app.example.com', 'https://evil.example'] })).toMatch(/repeated/);
    const long = `https://${'a'.repeat(500)}.example`;
    expect(refused('POST', { origin: long })!.length).toBeLessThan(320);
  });

  it('ignores requests without a method (not an HTTP request)', () => {
    expect(crossOriginRefusal({ headers: { origin: 'https://evil.example' } }, csrf)).toBeNull();
  });
});
