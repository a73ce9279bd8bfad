/** The part of an incoming request the library reads (Express, Fastify and Node requests all fit). */
export interface SessionRequest {
  readonly headers: Record<string, string | string[] | undefined>;
  /**
   * Node's per-header lists (Node >= 18.3). `headers` keeps only the first of a repeated
   * Authorization (Node drops the others), so repeats are detected here.
   */
  readonly headersDistinct?: Record<string, string[] | undefined>;
  /** Fastify: the Node request. */
  readonly raw?: { readonly headersDistinct?: Record<string, string[] | undefined> };
}

/** Writes response headers on Express, Fastify or a plain Node response. */
export interface ResponseWriter {
  appendHeader(name: string, value: string): void;
}

type ExpressLike = { append(name: string, value: string): unknown };
type FastifyLike = { header(name: string, value: string): unknown };
type NodeLike = {
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

/** One header value: a repeated header is ambiguous and counts as absent-but-presented. */
export function singleHeader(request: SessionRequest, name: string): string | null | 'ambiguous' {
  // (Repeated Cookie lines are joined by Node and may legally carry different cookies: the cookie
  // transport checks its own name for repeats instead.)
  const distinct = name === 'cookie' ? undefined : (request.headersDistinct ?? request.raw?.headersDistinct)?.[name];
  if (distinct && distinct.length > 1) return 'ambiguous';
  const value = request.headers[name];
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.length === 1 ? value[0] : 'ambiguous';
  return value;
}
