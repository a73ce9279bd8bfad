import { describe, expect, it } from '@jest/globals';
import { handshakeRequest, trustOrigins, type SessionSocket } from './handshake-request.js';

const TOKEN = 'header.payload.signature';

function socket(headers: Record<string, string>, auth: Record<string, unknown> = {}): SessionSocket {
  return { id: 'socket-1', handshake: { headers, auth }, emit: () => true, disconnect: () => undefined };
}

describe('handshakeRequest', () => {
  it('reads auth.token as a bearer token, unless the handshake has its own Authorization header', () => {
    expect(handshakeRequest(socket({}, { token: TOKEN })).headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(handshakeRequest(socket({ authorization: 'Bearer other' }, { token: TOKEN })).headers.authorization).toBe('Bearer other');
    expect(handshakeRequest(socket({}, { token: 42 })).headers.authorization).toBeUndefined();
  });

  it('keeps the cookie for handshakes without Origin (not a browser page) and from its own origin', () => {
    expect(handshakeRequest(socket({ cookie: 'sid=x', host: 'app.example' })).headers.cookie).toBe('sid=x');
    const same = socket({ cookie: 'sid=x', host: 'app.example:8443', origin: 'https://app.example:8443' });
    expect(handshakeRequest(same).headers.cookie).toBe('sid=x');
  });

  it('drops the cookie of a handshake from another origin, even a sibling port or subdomain', () => {
    for (const origin of ['https://evil.example', 'https://app.example:8444', 'https://sub.app.example', 'null', 'not a url']) {
      const request = handshakeRequest(socket({ cookie: 'sid=x', host: 'app.example:8443', origin }, { token: TOKEN }));
      expect(request.headers.cookie).toBeUndefined();
      // A bearer token is no ambient credential: it still counts.
      expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    }
  });

  it('keeps the cookie for a trusted origin', () => {
    const trusted = socket({ cookie: 'sid=x', host: 'api.example', origin: 'https://app.example' });
    trustOrigins(trusted, ['https://app.example']);
    expect(handshakeRequest(trusted).headers.cookie).toBe('sid=x');
  });

  it('builds the request once per socket and never changes the handshake', () => {
    const s = socket({ cookie: 'sid=x', host: 'app.example', origin: 'https://evil.example' }, { token: TOKEN });
    expect(handshakeRequest(s)).toBe(handshakeRequest(s));
    expect(s.handshake.headers).toEqual({ cookie: 'sid=x', host: 'app.example', origin: 'https://evil.example' });
  });
});
