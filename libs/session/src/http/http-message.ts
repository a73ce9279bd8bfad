import { IncomingMessage } from 'node:http';

/** The part of an incoming request the library reads (Express, Fastify and Node requests all fit). */
export interface SessionRequest {
  readonly headers: Record<string, string | string[] | undefined>;
  /**
   * Node's header lines as received (name, value, name, value...). `headers` keeps only the first
   * of a repeated Authorization (Node drops the others), so repeats are counted here.
   */
  readonly rawHeaders?: readonly string[];
  /** Fastify: the Node request. */
  readonly raw?: { readonly rawHeaders?: readonly string[] };
}

/** Writes response headers on Express, Fastify or a plain Node response. */
export interface ResponseWriter {
  /**
   * False once the headers are out (a handler that answered by itself) or where there is no HTTP
   * response: a header that only advises (Retry-After, clearing a dead cookie) is then left out.
   */
  readonly headersWritable: boolean;
  appendHeader(name: string, value: string): void;
}

type ExpressLike = { append(name: string, value: string): unknown };
type FastifyLike = { header(name: string, value: string): unknown; raw: { readonly headersSent: boolean } };
type NodeLike = {
  readonly headersSent: boolean;
  getHeader(name: string): number | string | string[] | undefined;
  setHeader(name: string, value: string | string[]): unknown;
};

/**
 * Adapts whatever response object the platform handed us; no Express-only calls elsewhere. The
 * platform is only looked at when a header is written: most requests write none.
 */
export function responseWriter(response: unknown): ResponseWriter {
  return new PlatformResponseWriter(response as Partial<ExpressLike & FastifyLike & NodeLike>);
}

class PlatformResponseWriter implements ResponseWriter {
  constructor(private readonly res: Partial<ExpressLike & FastifyLike & NodeLike>) {}

  get headersWritable(): boolean {
    // A Fastify reply wraps the Node response; Express's response is one.
    return !(this.res.raw ?? this.res).headersSent;
  }

  appendHeader(name: string, value: string): void {
    const res = this.res;
    if (typeof res.append === 'function') res.append(name, value);
    else if (typeof res.header === 'function') res.header(name, value);
    else {
      const node = res as NodeLike;
      const existing = node.getHeader(name);
      const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
      node.setHeader(name, name.toLowerCase() === 'set-cookie' ? [...list, value] : value);
    }
  }
}

/**
 * One header value: a repeated header is ambiguous and counts as absent-but-presented. On Node's own
 * request objects (Express's included) it is read from the raw lines: `headers` is a getter on
 * IncomingMessage.prototype, and on an Express request, which has a prototype of its own, V8 finds
 * it through its runtime on every call: 3,300 instructions per read, counted by callgrind, against
 * 1,400 for `rawHeaders`, an own property, and a few hundred for the scan. Fastify's requests keep
 * `headers` as a plain property.
 */
export function singleHeader(request: SessionRequest, name: string): string | null | 'ambiguous' {
  if (request instanceof IncomingMessage) return fromRawLines(request.rawHeaders, name);
  // (Repeated Cookie lines are joined by Node and may legally carry different cookies: the cookie
  // transport checks its own name for repeats instead.)
  if (name !== 'cookie' && rawLineCount(request.rawHeaders ?? request.raw?.rawHeaders, name) > 1) return 'ambiguous';
  const value = request.headers[name];
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.length === 1 ? value[0] : 'ambiguous';
  return value;
}

/** What `headers[name]` holds, from the lines: repeated Cookie lines joined by "; " as Node joins them, any other repeat ambiguous. */
function fromRawLines(lines: readonly string[], name: string): string | null | 'ambiguous' {
  let found: string | null = null;
  const length = name.length;
  for (let i = 0; i < lines.length; i += 2) {
    const raw = lines[i] as string;
    if (raw !== name && (raw.length !== length || !sameIgnoringCase(raw, name))) continue;
    const value = lines[i + 1] as string;
    if (found === null) found = value;
    else if (name === 'cookie') found = `${found}; ${value}`;
    else return 'ambiguous';
  }
  return found;
}

/**
 * How many header lines named `name` (lower case) the request arrived with; 0 without raw lines.
 * A scan of `rawHeaders`, not Node's `headersDistinct`: that getter builds a new object of arrays
 * on every request, about 10 µs on an Express request.
 */
function rawLineCount(lines: readonly string[] | undefined, name: string): number {
  if (!lines) return 0;
  let count = 0;
  for (let i = 0; i < lines.length; i += 2) {
    const raw = lines[i] as string;
    if (raw.length === name.length && sameIgnoringCase(raw, name)) count++;
  }
  return count;
}

/** Whether `raw` is `name` (lower case, of the same length), ignoring ASCII case, without building a lower-cased copy. */
function sameIgnoringCase(raw: string, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const code = raw.charCodeAt(i);
    if ((code >= 65 && code <= 90 ? code + 32 : code) !== name.charCodeAt(i)) return false;
  }
  return true;
}
