// Two tiers named by suffix: *.spec.ts are pure and fast; *.int-spec.ts talk to the real
// Kafka, Postgres and Redis that `npm run infra:up` provides.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'commonjs' },
  },
];
const moduleNameMapper = {
  '^@app/(config|contracts|domain|persistence|projection|workload|messaging|jobs|observability)$': '<rootDir>/libs/$1/src',
  '^@app/(config|contracts|domain|persistence|projection|workload|messaging|jobs|observability)/(.*)$': '<rootDir>/libs/$1/src/$2',
  '^@app/(sync-worker)/(.*)$': '<rootDir>/apps/$1/src/$2',
  '^@app/scripts/(.*)$': '<rootDir>/scripts/$1',
};
const common = {
  rootDir: __dirname,
  // NestJS 12 ships ESM only. Node 20 can require() it, but Jest's CommonJS runtime cannot (it
  // needs Node 24.9+), so Jest compiles those packages to CommonJS like our own sources.
  transform: { '^.+\\.ts$': swc, '^.+/node_modules/@nestjs/.+\\.js$': swc },
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test', '<rootDir>/scripts'],
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['**/*.spec.ts'] },
    {
      ...common,
      displayName: 'int',
      testMatch: ['**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/int-setup.ts'],
    },
  ],
};
