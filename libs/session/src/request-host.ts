import type { ExecutionContext } from '@nestjs/common';
import { responseWriter, type ResponseWriter, type SessionRequest } from './http/http-message.js';
import { SessionUsageError } from './session.errors.js';

type HostRequest = SessionRequest & Record<string | symbol, unknown>;

/** The HTTP request behind a route or a GraphQL resolver, and the response a credential goes out on. */
export interface RequestHost {
  readonly request: HostRequest;
  readonly response: ResponseWriter;
}

/** What Nest's GraphQL drivers put in a resolver's context (Apollo: `req`; Mercurius: `reply`). */
interface GraphqlContext {
  req?: unknown;
  request?: unknown;
  res?: unknown;
  reply?: { request?: unknown };
}

const isRequest = (value: unknown): value is HostRequest =>
  typeof value === 'object' && value !== null && typeof (value as SessionRequest).headers === 'object';

const NO_RESPONSE: ResponseWriter = {
  // Advisory headers (Retry-After, clearing a dead cookie) are skipped; a credential to deliver is not.
  headersWritable: false,
  appendHeader: () => {
    throw new SessionUsageError(
      'The GraphQL context has no HTTP response to send the session cookie on. ' +
        'Return { req, res } (Express) or { req, reply } (Fastify) from the GraphQL context function.',
    );
  },
};

/**
 * The request of an HTTP route, or of a GraphQL resolver (its third argument is the GraphQL context,
 * which carries `req`): found without importing @nestjs/graphql, so that package stays optional.
 * Null for other transports (a gateway's messages are handled in ws/).
 */
export function requestHost(context: ExecutionContext): RequestHost | null {
  const type = context.getType<string>();
  if (type === 'http') {
    // Not switchToHttp(): Nest's builds three closures and adds them to the context on every call.
    return { request: context.getArgByIndex(0), response: responseWriter(context.getArgByIndex(1)) };
  }
  if (type !== 'graphql') return null;
  const gql = context.getArgs()[2] as GraphqlContext | undefined;
  const request = graphqlRequest(gql);
  if (!request) return null;
  // Express links the response to its request; a Fastify request does not know its reply.
  const response = gql?.res ?? gql?.reply ?? (request as { res?: unknown }).res;
  return { request, response: response ? responseWriter(response) : NO_RESPONSE };
}

/**
 * The request alone (see requestHost), allocating nothing: what runs on every request (the guard,
 * `@Session()`) needs the response only to set a cookie or report an error, and then asks requestHost.
 */
export function hostRequest(context: ExecutionContext): HostRequest | null {
  const type = context.getType<string>();
  if (type === 'http') return context.getArgByIndex(0);
  return type === 'graphql' ? graphqlRequest(context.getArgs()[2] as GraphqlContext | undefined) : null;
}

function graphqlRequest(gql: GraphqlContext | undefined): HostRequest | null {
  const request = gql?.req ?? gql?.request ?? gql?.reply?.request;
  return isRequest(request) ? request : null;
}

/** Like hostRequest, but a GraphQL context without a request is a usage error that says how to fix it. */
export function requireHostRequest(context: ExecutionContext): HostRequest | null {
  const request = hostRequest(context);
  if (!request && context.getType<string>() === 'graphql') {
    throw new SessionUsageError(
      'SessionGuard found no HTTP request in the GraphQL context: keep the driver default context, ' +
        'or return an object with `req` from your context function.',
    );
  }
  return request;
}
