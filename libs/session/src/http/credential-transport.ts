import { parseCookie, stringifySetCookie } from 'cookie';
import type { ResolvedCookie } from '../options/resolved-options.js';
import { singleHeader, type ResponseWriter, type SessionRequest } from './http-message.js';

/** What a transport found: nothing, one raw credential, or something unusable (reported as invalid). */
export type RawCredential = { kind: 'none' } | { kind: 'present'; value: string } | { kind: 'unusable' };

const MAX_CREDENTIAL_LENGTH = 4096;

/** How a credential travels between client and server. */
export interface CredentialTransport {
  read(request: SessionRequest): RawCredential;
  /** Sends a new or rotated credential; `expiresAt` is the session's absolute deadline (epoch ms). */
  write(response: ResponseWriter, credential: string, expiresAt: number): void;
  clear(response: ResponseWriter): void;
}

export class CookieTransport implements CredentialTransport {
  constructor(private readonly cookie: ResolvedCookie) {}

  read(request: SessionRequest): RawCredential {
    const header = singleHeader(request, 'cookie');
    if (header === null) return { kind: 'none' };
    if (header === 'ambiguous' || header.length > 16 * 1024) return { kind: 'unusable' };
    const occurrences = countCookies(header, this.cookie.name);
    if (occurrences === 0) return { kind: 'none' };
    if (occurrences > 1) return { kind: 'unusable' };
    // Decoding is disabled: our credentials are plain base64url, anything percent-encoded is foreign.
    const value = parseCookie(header, KEEP_ENCODED)[this.cookie.name];
    return value ? present(value) : { kind: 'unusable' };
  }

  write(response: ResponseWriter, credential: string, expiresAt: number): void {
    const maxAge = this.cookie.maxAge ?? Math.max(1, Math.floor((expiresAt - Date.now()) / 1000));
    response.appendHeader('Set-Cookie', this.serialize(credential, maxAge));
  }

  clear(response: ResponseWriter): void {
    response.appendHeader('Set-Cookie', this.serialize('', 0));
  }

  private serialize(value: string, maxAge: number): string {
    const { name, domain, path, sameSite, secure } = this.cookie;
    return stringifySetCookie({
      name,
      value,
      domain,
      path,
      sameSite,
      secure,
      httpOnly: true,
      maxAge,
      ...(maxAge === 0 ? { expires: new Date(0) } : {}),
    });
  }
}

/** A credential in a request header: `Authorization: Bearer <token>` or a custom header's raw value. */
export class HeaderTransport implements CredentialTransport {
  constructor(private readonly header: string) {}

  read(request: SessionRequest): RawCredential {
    const value = singleHeader(request, this.header);
    if (value === null) return { kind: 'none' };
    if (value === 'ambiguous') return { kind: 'unusable' };
    if (this.header !== 'authorization') return present(value.trim());
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(value);
    return match ? present(match[1]) : { kind: 'unusable' };
  }

  write(response: ResponseWriter, credential: string): void {
    // A bearer token is handed out in the response body by the app (`session.token`), not a header.
    if (this.header !== 'authorization') response.appendHeader(this.header, credential);
  }

  clear(): void {
    // Nothing to clear: the client forgets a header credential itself.
  }
}

const KEEP_ENCODED = { decode: (value: string) => value };

/**
 * How many cookies in `header` are named `name`. Names are compared trimmed, as parseCookie reads
 * them: "sid =a; sid=b" is two cookies named sid. A scan, not split + filter: it runs per request.
 */
function countCookies(header: string, name: string): number {
  let count = 0;
  for (let start = 0; start < header.length; ) {
    const semicolon = header.indexOf(';', start);
    const end = semicolon === -1 ? header.length : semicolon;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) count++;
    start = end + 1;
  }
  return count;
}

function present(value: string): RawCredential {
  return value.length > 0 && value.length <= MAX_CREDENTIAL_LENGTH ? { kind: 'present', value } : { kind: 'unusable' };
}

/** Tries transports in order: the first one that finds something decides. Writes go to the first. */
export class CompositeTransport implements CredentialTransport {
  constructor(private readonly transports: readonly CredentialTransport[]) {}

  read(request: SessionRequest): RawCredential {
    for (const transport of this.transports) {
      const found = transport.read(request);
      if (found.kind !== 'none') return found;
    }
    return { kind: 'none' };
  }

  write(response: ResponseWriter, credential: string, expiresAt: number): void {
    this.transports[0]?.write(response, credential, expiresAt);
  }

  clear(response: ResponseWriter): void {
    for (const transport of this.transports) transport.clear(response);
  }
}
