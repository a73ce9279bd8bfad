import { stringifySetCookie } from 'cookie';
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
    const value = onlyCookie(header, this.cookie.name);
    if (value === null) return { kind: 'none' };
    return value === REPEATED ? { kind: 'unusable' } : present(value);
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

export const REPEATED = Symbol('repeated');

/**
 * The value of the one cookie named `name` in a Cookie header, null if there is none, REPEATED if
 * there are several ("sid=a; sid=b": which one the browser meant is unknowable). Parsed as
 * `cookie`'s parseCookie does (pairs split at ";" then the first "=", names and values trimmed of
 * spaces and tabs, a pair without "=" skipped), but without building an object of every cookie in
 * the header on every request: browsers send the app's other cookies (consent, analytics...) too.
 * The value is kept as sent: our credentials are plain base64url, anything percent-encoded is foreign.
 */
export function onlyCookie(header: string, name: string): string | null | typeof REPEATED {
  let value: string | null = null;
  for (let start = 0; start < header.length; ) {
    const eq = header.indexOf('=', start);
    if (eq === -1) break;
    // Pairs without "=" before it are skipped in one step, as parseCookie does: looking for "="
    // again from each of them would make a header of 16 KB of ";" cost milliseconds (n²).
    const pairStart = Math.max(start, header.lastIndexOf(';', eq - 1) + 1);
    const semicolon = header.indexOf(';', eq);
    const end = semicolon === -1 ? header.length : semicolon;
    if (isNameAt(header, pairStart, eq, name)) {
      if (value !== null) return REPEATED;
      value = trimmedSlice(header, eq + 1, end);
    }
    start = end + 1;
  }
  return value;
}

const isBlank = (code: number): boolean => code === 32 || code === 9;

/** Whether header[from, to), trimmed of spaces and tabs, is `name`; compared in place, no substring. */
function isNameAt(header: string, from: number, to: number, name: string): boolean {
  while (from < to && isBlank(header.charCodeAt(from))) from++;
  while (to > from && isBlank(header.charCodeAt(to - 1))) to--;
  return to - from === name.length && header.startsWith(name, from);
}

function trimmedSlice(header: string, from: number, to: number): string {
  while (from < to && isBlank(header.charCodeAt(from))) from++;
  while (to > from && isBlank(header.charCodeAt(to - 1))) to--;
  return header.slice(from, to);
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
