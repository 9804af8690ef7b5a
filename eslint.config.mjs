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
  prettier,
);
