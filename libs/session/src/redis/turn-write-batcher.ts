import type { Cluster, Redis } from 'ioredis';

interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Sends the commands issued during one event-loop turn in one socket write per connection instead
 * of one write each: the first command of a turn corks the sockets and setImmediate (after this
 * turn's I/O callbacks, so after every request parsed in it) uncorks them, which flushes each as
 * one writev. Each command stays a command of its own to ioredis (own reply, own timeout, own
 * MOVED/retry handling, same order): only the system call is shared. On loopback a write also
 * pays for the receiver's TCP work and wake-up: the benchmark's Express read cost 208 µs of app
 * CPU with a write per command against 171 µs batched, and Redis 26.7 against 12.3 µs
 * (`npm run bench`, its `batchWrites: false` row). ioredis' auto-pipelining batches too, but
 * builds a pipeline per turn and changed outage behaviour (see RECOMMENDED_REDIS_OPTIONS).
 *
 * A single connection (standalone, Sentinel) has one socket; on a Cluster every ready master's
 * socket is held, as a command's node is only known inside ioredis. Not with auto-pipelining.
 */
export class TurnWriteBatcher {
  private corked: Corkable[] | null = null;
  private readonly flush = (): void => {
    const sockets = this.corked ?? [];
    this.corked = null;
    // A socket closed meanwhile is left alone: ioredis answers or re-sends its commands.
    for (const socket of sockets) socket.uncork();
  };

  private constructor(private readonly connections: () => Redis[]) {}

  static for(redis: Redis | Cluster): TurnWriteBatcher | null {
    if ((redis as Cluster).isCluster) {
      const cluster = redis as Cluster;
      if (cluster.options.enableAutoPipelining || cluster.options.redisOptions?.enableAutoPipelining) return null;
      return new TurnWriteBatcher(() => cluster.nodes('master'));
    }
    if ((redis as Redis).options.enableAutoPipelining) return null;
    const single = [redis as Redis];
    return new TurnWriteBatcher(() => single);
  }

  /** Call before issuing a command: holds the sockets' writes until the end of this turn. */
  hold(): void {
    if (this.corked || timersAreFaked()) return;
    const sockets: Corkable[] = [];
    for (const connection of this.connections()) {
      const socket = connection.status === 'ready' ? (connection.stream as unknown as Partial<Corkable> | undefined) : undefined;
      if (typeof socket?.cork === 'function' && typeof socket.uncork === 'function') sockets.push(socket as Corkable);
    }
    if (sockets.length === 0) return;
    for (const socket of sockets) socket.cork();
    this.corked = sockets;
    setImmediate(this.flush);
  }
}

/**
 * Under a test's fake timers (jest.useFakeTimers, @sinonjs/fake-timers) setImmediate runs only when
 * the test advances the clock, and every corked command would wait for it: write at once instead.
 * Sinon's fakes carry a `clock`, Jest's legacy ones are mock functions.
 */
function timersAreFaked(): boolean {
  const current = globalThis.setImmediate as typeof setImmediate & { clock?: unknown; _isMockFunction?: boolean };
  return current.clock !== undefined || current._isMockFunction === true;
}
