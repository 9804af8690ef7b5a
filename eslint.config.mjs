// `npm run lint`: typescript-eslint's type-checked rules over every TypeScript file tsconfig.json
// compiles, ESLint's recommended rules over the plain-JS scripts, and nothing that Prettier
// decides (eslint-config-prettier turns those rules off; `prettier --check` runs beside ESLint).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.infra/', '.cache/', 'drill-results/', 'coverage/'] },
  {
    files: ['**/*.mjs', '**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    // jest.config.js is CommonJS (module.exports, __dirname).
    files: ['jest.config.js'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `_`-prefixed names mark a deliberately ignored argument or destructured field.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // `any` enters at the I/O boundaries only: TypeORM's raw `query()` rows, JSON.parse and YAML
      // parse, HTTP bodies in tests; each is mapped or checked field by field right after (about
      // 740 findings, 170 outside tests, mostly raw-SQL row mapping in the repositories).
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // kafkajs handlers, Nest lifecycle hooks and Jest's globalSetup must return a promise even when
      // they have nothing to await; `async` is the plain way to say so.
      '@typescript-eslint/require-await': 'off',
      // The contract and its tests match NUL, control characters and ANSI escapes on purpose.
      'no-control-regex': 'off',
      // json.ts throws a stackless `Stop` to leave its recursive scan; it never escapes the module.
      '@typescript-eslint/only-throw-error': ['error', { allow: [{ from: 'file', name: 'Stop', path: 'libs/contracts/src/json.ts' }] }],
    },
  },
  {
    // Tests build deliberately ill-typed inputs (a mutated event, a parsed manifest) to check that
    // the code under test refuses them.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  // The boundaries docs/architecture.md promises, for the service's own code (apps, libs). Tests,
  // bench and scripts are the named exceptions: they drive the service from outside (a DataSource
  // to check the projection, the relay inside the stock-Nest comparison, the generators).
  ...boundaries(),
  prettier,
);

function boundaries() {
  const production = ['apps/**/*.ts', 'libs/**/*.ts'];
  const notTests = ['**/*.spec.ts', '**/*.int-spec.ts', '**/testing/**'];
  const storage = { name: 'typeorm', message: 'Postgres is reached through libs/persistence only.' };
  const pg = { name: 'pg', message: 'Postgres is reached through libs/persistence only.' };
  const bullmq = ['bullmq', '@nestjs/bullmq'].map((name) => ({
    name,
    message: 'BullMQ is used by libs/jobs, the jobs worker and the queue dashboard only.',
  }));
  // The one named exception: each app's first import starts tracing before anything else loads.
  const deep = {
    group: ['@app/*/**', '!@app/observability/tracing-preload'],
    message: 'Import a lib by its entry point (@app/<lib>), not a file inside it.',
  };
  const queueOwners = ['libs/jobs/**', 'apps/jobs-worker/**', 'apps/read-api/src/admin/**'];
  return [
    {
      files: production,
      ignores: [...notTests, 'libs/domain/**', 'libs/persistence/**', ...queueOwners],
      rules: { 'no-restricted-imports': ['error', { paths: [storage, pg, ...bullmq], patterns: [deep] }] },
    },
    {
      files: queueOwners,
      ignores: notTests,
      rules: { 'no-restricted-imports': ['error', { paths: [storage, pg], patterns: [deep] }] },
    },
    {
      files: ['libs/persistence/**/*.ts'],
      ignores: notTests,
      rules: { 'no-restricted-imports': ['error', { paths: bullmq, patterns: [deep] }] },
    },
    {
      // Deriving an enrollment is plain functions: no package, no other lib, no Node API.
      files: ['libs/domain/**/*.ts'],
      ignores: notTests,
      rules: {
        'no-restricted-imports': ['error', { patterns: [{ regex: '^[^.]', message: 'libs/domain imports nothing but its own modules.' }] }],
      },
    },
  ];
}
