/** HTTP load (autocannon, in-process) and the setup requests that sign sessions in. */
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';

export type Credential = Record<string, string>;

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** The index after the last request built: pass it as `first` to continue the sequence. */
  next: number;
}

/** Signs `count` sessions in; returns the request headers that present each credential. */
export async function signIn(url: string, count: number, bearer: boolean): Promise<Credential[]> {
  const credentials: Credential[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: `user${i}` }),
    });
    const body = (await res.json()) as { token?: string };
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(body)}`);
    if (bearer) {
      credentials.push({ authorization: `Bearer ${body.token}` });
    } else {
      const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]).filter((c) => !c.endsWith('='));
      credentials.push(cookies.length ? { cookie: cookies.join('; ') } : {});
    }
  }
  return credentials;
}

/** Sequential requests with the given credential (setup and MONITOR probes). */
export async function send(url: string, method: 'GET' | 'PUT', path: string, credential: Credential, body?: unknown): Promise<number> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...credential, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  credentials: Credential[];
  path: 'read' | 'write';
  /**
   * Index of the first request (default 0). A run after another on the same sessions passes the
   * other's `next`: started over at 0, its first writes would set the very values the other left
   * in place, and an unchanged value is not written at all (2 Redis commands instead of 8 for ours).
   */
  first?: number;
  /** Body of each write (default `{ qty }`); `sku` picks the key written. */
  writeBody?: (i: number) => unknown;
  sku?: (i: number) => string;
}

/**
 * GET /me and PUT /cart/:sku, each request with the next session in turn (all of them stay warm);
 * each write sets the next of 10 skus, so every session ends up with 10 cart keys.
 * (Per-request setup costs the load generator the same for every app.)
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { url, connections, seconds, credentials } = options;
  let counter = options.first ?? 0;
  const sku = options.sku ?? ((i: number) => `sku-${Math.floor(i / credentials.length) % 10}`);
  const writeBody = options.writeBody ?? ((i: number) => ({ qty: (i % 99) + 1 }));
  const read = (request: Record<string, unknown>) => ({ ...request, path: '/me', headers: { ...credentials[counter++ % credentials.length] } });
  const write = (request: Record<string, unknown>) => {
    const i = counter++;
    return {
      ...request,
      path: `/cart/${sku(i)}`,
      headers: { ...credentials[i % credentials.length], 'content-type': 'application/json' },
      body: JSON.stringify(writeBody(i)),
    };
  };
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    requests: [{ method: options.path === 'read' ? 'GET' : 'PUT', setupRequest: options.path === 'read' ? read : write }],
  } as unknown as autocannon.Options);
  const result = await instance;
  const requests = result.requests.total;
  return {
    requests,
    seconds: result.duration,
    rps: requests / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    next: counter,
  };
}

/** GET /me requests in exact numbers, over connections kept open across calls (see `openReader`). */
export interface Reader {
  /** Exactly `count` reads, each connection one request at a time, the sessions in turn. Rejects on any answer but 200. */
  send(credentials: readonly Credential[], count: number): Promise<void>;
  close(): void;
}

/**
 * A fixed amount of work, for counting what it costs (bench/instructions.ts) rather than how fast
 * it goes. The connections stay open from one `send` to the next, as a load generator's do:
 * under callgrind, a Fastify app whose client reconnected before each window of 1,000 reads
 * counted 350,000 instructions per read instead of 96,000 (V8 re-optimizing for the new socket).
 */
export function openReader(url: string, connections: number): Reader {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const { hostname, port } = new URL(url);
  const readOnce = (headers: Credential) =>
    new Promise<void>((resolve, reject) => {
      const req = request({ host: hostname, port, path: '/me', agent, headers }, (res) => {
        res.resume();
        res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET /me answered ${res.statusCode}`))));
      });
      req.once('error', reject);
      req.end();
    });
  return {
    async send(credentials, count) {
      let next = 0;
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (next < count) await readOnce(credentials[next++ % credentials.length] as Credential);
        }),
      );
    },
    close: () => agent.destroy(),
  };
}
