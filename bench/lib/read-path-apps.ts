/** The apps that bench/profile.ts and bench/instructions.ts compare on GET /me (bench/paired.ts uses `ours`), as bench/apps/main.ts env. */

export type Adapter = 'express' | 'fastify';

export interface AppSetup {
  readonly label: string;
  readonly env: Record<string, string>;
}

/** Ours with the session-id strategy, with or without the near-cache, under either commit mode. */
export const ours = (cache: boolean, commit: '' | 'on-send'): Record<string, string> => ({
  BENCH_STACK: 'ours',
  BENCH_STRATEGY: 'session-id',
  BENCH_CACHE: cache ? '1' : '0',
  BENCH_COMMIT: commit,
});

/** Bare first: every figure is read against it. */
export const readPathApps = (adapter: Adapter): readonly AppSetup[] => [
  { label: 'bare', env: { BENCH_STACK: 'bare' } },
  { label: "ours + near-cache, commit: 'on-send'", env: ours(true, 'on-send') },
  { label: 'ours + near-cache (interceptor)', env: ours(true, '') },
  { label: 'ours, no near-cache (interceptor)', env: ours(false, '') },
  adapter === 'express'
    ? { label: 'express-session + connect-redis', env: { BENCH_STACK: 'express-session' } }
    : { label: '@fastify/session + connect-redis', env: { BENCH_STACK: 'fastify-session' } },
];
