// Runs one of this repository's TypeScript entry points without a build: `npm run infra:*`,
// `npm test` and `npm start` need the infrastructure before anything is compiled, and a full
// `npm run build` would add tens of seconds to each. Compiles the entry and every file of the
// repository it imports (relative or @app/* paths) with @swc/core, the compiler jest already
// uses, into .cache/run-ts/; a file is compiled again only when its source is newer. Then calls
// the entry's exported `main(argv)` and exits with the code it returns.
//
//   node scripts/run-ts.mjs scripts/infra/cli.ts up --secure
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const swc = require('@swc/core');

const [entryArg, ...args] = process.argv.slice(2);
if (!entryArg?.endsWith('.ts')) {
  console.error('usage: node scripts/run-ts.mjs <entry.ts> [args...]');
  process.exit(2);
}

// The same aliases as tsc and jest: tsconfig.json is their single source.
const { paths = {} } = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')).compilerOptions;
const options = {
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    baseUrl: root,
    paths,
  },
  module: { type: 'commonjs' },
  swcrc: false,
  configFile: false,
};
// A new compiler or new options must not reuse files compiled with the old ones.
const tag = createHash('sha256')
  .update(JSON.stringify([swc.version, options]))
  .digest('hex')
  .slice(0, 12);
const outDir = join(root, '.cache', 'run-ts', tag);

const mtime = (file) => statSync(file).mtimeMs;
const compiled = new Map();

/** Compiles `src` (absolute .ts) and, depth first, the repository files it requires; returns its output path. */
function compile(src) {
  if (compiled.has(src)) return compiled.get(src);
  const rel = relative(root, src);
  if (rel.startsWith('..')) throw new Error(`${src} is outside the repository`);
  const out = join(outDir, rel.replace(/\.ts$/, '.js'));
  compiled.set(src, out);
  let code;
  if (existsSync(out) && mtime(out) >= mtime(src)) {
    code = readFileSync(out, 'utf8');
  } else {
    ({ code } = swc.transformFileSync(src, { ...options, filename: src }));
    mkdirSync(dirname(out), { recursive: true });
    // Several runs may compile at once (npm test and a developer's infra:status): rename is atomic.
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, out);
  }
  for (const [, spec] of code.matchAll(/require\("(\.{1,2}\/[^"]*)"\)/g)) {
    const base = resolve(dirname(src), spec);
    const dep = [`${base}.ts`, join(base, 'index.ts')].find((f) => existsSync(f));
    if (dep) compile(dep);
  }
  return out;
}

const entry = compile(resolve(entryArg));
const mod = require(entry);
if (typeof mod.main !== 'function') {
  console.error(`${entryArg} exports no main(argv) for scripts/run-ts.mjs to call`);
  process.exit(2);
}
process.argv = [process.argv[0], entry, ...args];
process.exitCode = await mod.main(args);
