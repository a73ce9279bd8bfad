import type { ResolvedCsrf } from '../options/resolve-operations.js';
import { singleHeader, type SessionRequest } from './http-message.js';

/** Methods that must not change state, so a cross-origin one is harmless (RFC 9110 "safe"). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const PREFIX = 'Cross-origin request refused (CSRF protection)';

/** A header value as it may appear in an error message: bounded and quoted. */
const shown = (value: string): string => JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);

/**
 * Why a request must be refused as a cross-site request forgery, or null to let it through.
 * The same rules as Go's `http.CrossOriginProtection`:
 * 1. safe methods pass; an `Origin` in `trustedOrigins` passes;
 * 2. with `Sec-Fetch-Site` (every current browser sends it): only `same-origin` and `none` (typed
 *    URL, bookmark) pass;
 * 3. without it, an `Origin` whose host is the request's `Host` passes, any other `Origin` is
 *    refused; a request with neither header is not from a browser, so not a CSRF vector, and passes.
 */
export function crossOriginRefusal(request: SessionRequest & { readonly method?: unknown }, csrf: ResolvedCsrf): string | null {
  const method = request.method;
  // Node's parser hands methods over in upper case: most requests are settled without
  // toUpperCase(), which goes through ICU (a few hundred instructions per call).
  if (method === 'GET' || method === 'HEAD') return null;
  // Not an HTTP request object (no method): nothing a browser could forge.
  if (typeof method !== 'string' || SAFE_METHODS.has(method.toUpperCase())) return null;
  const origin = singleHeader(request, 'origin');
  const site = singleHeader(request, 'sec-fetch-site');
  if (origin === 'ambiguous' || site === 'ambiguous') return `${PREFIX}: repeated Origin or Sec-Fetch-Site header`;
  if (origin !== null && csrf.trustedOrigins.has(origin)) return null;
  if (site !== null) {
    if (site === 'same-origin' || site === 'none') return null;
    return `${PREFIX}: Sec-Fetch-Site is ${shown(site)}${origin === null ? '' : ` and Origin ${shown(origin)} is not trusted`}`;
  }
  if (origin === null) return null;
  // Both unknown ("null" or garbage in Origin, no usable Host) is no match: unknown is not "the same".
  const originHost = hostOf(origin);
  if (originHost !== null && originHost === requestHost(request)) return null;
  return `${PREFIX}: Origin ${shown(origin)} is neither this site nor a trusted origin`;
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    // "null" (sandboxed frames, some redirects) and garbage match no host.
    return null;
  }
}

/** `Host` (HTTP/1.1) or `:authority` (HTTP/2). */
function requestHost(request: SessionRequest): string | null {
  for (const name of ['host', ':authority']) {
    const value = singleHeader(request, name);
    if (value !== null && value !== 'ambiguous') return value.toLowerCase();
  }
  return null;
}
