// Three levels (STYLE.md, "Tests"): unit beside the code, integration per app against real
// PostgreSQL and NATS, system tests across every service as its own process; the console's
// browser tests are system tests driven through Chromium, in a project of their own so that
// `--selectProjects browser` runs (or leaves out) exactly the tests that need Chromium.
const swc = [
  '@swc/jest',
  {
    swcrc: false,
    sourceMaps: 'inline',
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: 'commonjs', ignoreDynamic: true },
  },
];
// Where PostgreSQL and NATS come from (the environment, local services or containers) is decided
// once per run, for the projects that use them (libs/testing/src/test-services.ts).
const services = {
  globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
};
const common = {
  transform: { '^.+\\.ts$': swc },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: { '^@trellis/(.*)$': '<rootDir>/libs/$1/src/index.ts' },
  testEnvironment: 'node',
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    { ...common, ...services, displayName: 'integration', testMatch: ['<rootDir>/{apps,libs}/**/*.int-spec.ts'], slowTestThreshold: 30 },
    { ...common, ...services, displayName: 'system', testMatch: ['<rootDir>/tests/**/*.e2e-spec.ts'], testPathIgnorePatterns: ['<rootDir>/tests/console/'], slowTestThreshold: 120 },
    { ...common, ...services, displayName: 'browser', testMatch: ['<rootDir>/tests/console/**/*.e2e-spec.ts'], slowTestThreshold: 120 },
  ],
  // Two cores: two test files at a time; each file owns its database and NATS namespace.
  maxWorkers: 2,
  testTimeout: 60_000,
};
