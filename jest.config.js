/** Jest on ESM TypeScript via @swc/jest (see shared TOOLCHAIN notes). */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
      target: 'es2022',
    },
    module: { type: 'es6' },
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@app/session$': '<rootDir>/libs/session/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
};

/**
 * The demo e2e suites that also run on a Sentinel set and on a Cluster, one topology per project
 * started once for the whole run (test/support/shared-topology.ts). Not here, each file says why:
 * redis-outage, round-trips, startup-config (standalone by nature); the other test/*.e2e-spec.ts
 * files do not boot the demo app.
 */
const DEMO_SUITES = [
  'adapters', 'auth-flow', 'cart', 'csrf', 'expiry', 'hashed', 'jwt', 'profile-note', 'rotation', 'sessions', 'swagger', 'web-page',
].map((name) => `<rootDir>/test/${name}.e2e-spec.ts`);

const BURST_DRILL = 'test/faults/hung-concurrency.e2e-spec.ts';

/** The demo suites on one shared topology (`sentinel` or `cluster`). */
const onTopology = (kind) => ({
  ...common,
  displayName: `redis-${kind}`,
  testMatch: DEMO_SUITES,
  setupFiles: [`<rootDir>/test/support/jest/${kind}.env.ts`],
  // One module path per project: Jest runs each distinct globalSetup path once per run.
  globalSetup: `<rootDir>/test/support/jest/${kind}.global-setup.cjs`,
  globalTeardown: '<rootDir>/test/support/jest/topologies.global-teardown.cjs',
});

export default {
  // Jest 30 reads testTimeout only at the top level, not per project.
  testTimeout: 30000,
  // A test process is replaced once it holds more than this after a file: with every file in one
  // process (Jest's choice on 2 cores) the heap reached 875 MB by the 1000-concurrent drill, whose
  // latencies GC then pushed past their bound in CI (p99 2.04 s against 1.4 s in a fresh process).
  workerIdleMemoryLimit: '512MB',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/session/src/**/*.spec.ts', '<rootDir>/src/**/*.spec.ts', '<rootDir>/bench/lib/*.spec.ts'] },
    {
      ...common,
      displayName: 'redis',
      testMatch: ['<rootDir>/libs/session/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', BURST_DRILL],
    },
    // Run by `npm test` on its own, after the others: its bound is one command timeout plus what
    // 1000 requests cost both ends in this process, and with the other suites running beside it
    // on 2 cores that cost alone reached 1.4 s (slowest answer 2.06 s against 1.6-1.7 s alone).
    { ...common, displayName: 'burst', testMatch: [`<rootDir>/${BURST_DRILL}`] },
    onTopology('sentinel'),
    onTopology('cluster'),
    // npm pack + install into an app outside the monorepo + compile + run (test/package/): about a minute.
    // `npm run soak` only: a bounded load run with faults (about 2-3 minutes).
    { ...common, displayName: 'soak', testMatch: ['<rootDir>/test/soak/*.soak-spec.ts'] },
    { ...common, displayName: 'package', testMatch: ['<rootDir>/test/package/*.pkg-spec.ts'], testTimeout: 120000 },
  ],
};
