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

export default {
  // Jest 30 reads testTimeout only at the top level, not per project.
  testTimeout: 30000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/session/src/**/*.spec.ts', '<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'redis',
      testMatch: ['<rootDir>/libs/session/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
    },
    // npm pack + install into an app outside the monorepo + compile + run (test/package/): about a minute.
    // `npm run soak` only: a bounded load run with faults (about 2-3 minutes).
    { ...common, displayName: 'soak', testMatch: ['<rootDir>/test/soak/*.soak-spec.ts'] },
    { ...common, displayName: 'package', testMatch: ['<rootDir>/test/package/*.pkg-spec.ts'], testTimeout: 120000 },
  ],
};
