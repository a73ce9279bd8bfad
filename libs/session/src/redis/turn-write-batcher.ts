import type { Cluster, Redis } from 'ioredis';

interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Sends the commands issued during one event-loop turn in one socket write instead of one write
 * each: the first command of a turn corks the connection's socket and setImmediate (after this
 * turn's I/O callbacks, so after every request parsed in it) uncorks it, which flushes them as one
 * writev. Each command stays a command of its own to ioredis (own reply, own timeout, own
 * MOVED/retry handling, same order): only the system call is shared. On loopback a write also
 * pays for the receiver's TCP work and wake-up: the benchmark's Express read cost 208 µs of app
 * CPU with a write per command against 171 µs batched, and Redis 26.7 against 12.3 µs
 * (`npm run bench`, its `batchWrites: false` row). ioredis' auto-pipelining batches too, but
 * builds a pipeline per turn and changed outage behaviour (see RECOMMENDED_REDIS_OPTIONS).
 *
 * Only for a single connection (standalone, Sentinel) without auto-pipelining; a Cluster spreads
 * commands over one socket per node and is left as it is.
 */
export class TurnWriteBatcher {
  private corked: Corkable | null = null;
  private readonly flush = (): void => {
    const socket = this.corked;
    this.corked = null;
    // A socket closed meanwhile is left alone: ioredis answers or re-sends its commands.
    socket?.uncork();
  };

  private constructor(private readonly redis: Redis) {}

  static for(redis: Redis | Cluster): TurnWriteBatcher | null {
    if ((redis as Cluster).isCluster || (redis as Redis).options.enableAutoPipelining) return null;
    return new TurnWriteBatcher(redis as Redis);
  }

  /** Call before issuing a command: holds the socket's writes until the end of this turn. */
  hold(): void {
    if (this.corked || this.redis.status !== 'ready' || timersAreFaked()) return;
    const socket = this.redis.stream as unknown as Partial<Corkable> | undefined;
    if (typeof socket?.cork !== 'function' || typeof socket.uncork !== 'function') return;
    socket.cork();
    this.corked = socket as Corkable;
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
