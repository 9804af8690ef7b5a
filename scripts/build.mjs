// `npm run build`: `nest build` (the Nest CLI compiles tsconfig.build.json with tsc and rewrites
// the @app/* aliases into dist/), skipped when none of its inputs changed since the last build
// that succeeded, so `npm run migrate`, `ops`, `start` and `bench`, which build first, start in
// about a second when nothing was edited. Inputs: every file under apps, libs, scripts, bench and
// examples, the tsconfigs, nest-cli.json and package-lock.json, by path, size and mtime.
// `--force` always builds.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIRS = ['apps', 'libs', 'scripts', 'bench', 'examples'];
const FILES = ['tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'package-lock.json'];
const STAMP = join(root, 'dist', '.build-inputs');
const OUTPUT = join(root, 'dist', 'apps', 'sync-worker', 'src', 'main.js');

function fingerprint() {
  const lines = [];
  const add = (file) => {
    const st = statSync(file, { throwIfNoEntry: false });
    if (st?.isFile()) lines.push(`${relative(root, file)}\0${st.size}\0${st.mtimeMs}`);
  };
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else add(path);
    }
  };
  for (const d of DIRS) if (existsSync(join(root, d))) walk(join(root, d));
  for (const f of FILES) add(join(root, f));
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex');
}

const force = process.argv.includes('--force');
// Taken before compiling: a file edited while the build runs makes the next build run too.
const inputs = fingerprint();
const stamp = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : null;
if (!force && stamp === inputs && existsSync(OUTPUT)) {
  console.log('build: dist/ is up to date (no source changed since the last build; `npm run build -- --force` rebuilds)');
  process.exit(0);
}
const nest = join(root, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js');
const r = spawnSync(process.execPath, [nest, 'build'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(STAMP, `${inputs}\n`);
