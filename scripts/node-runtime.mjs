// The Node.js the quick-start commands run on. The supported line is Node 22.12+ (package.json
// engines): NestJS 12's own dependencies (file-type, nestjs-pino, the Nest CLI's schematics)
// declare it, and Node 20 is past its end of life. On an older Node, `npm test`, `npm start` and
// `npm run demo` (and the install before them) fetch Node NODE_VERSION once from the npm registry
// (the official binaries, packaged as `node-<platform>-<arch>`) into .cache/node/ and run
// themselves again under it, with it first on PATH so that every npm, tsc, jest and app they start
// uses it too. Uses only Node's built-ins.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const NODE_VERSION = '22.23.5';
const MIN = [22, 12];

const root = join(import.meta.dirname, '..');

export function isSupported(version = process.versions.node) {
  const [major, minor] = version.split('.').map(Number);
  return major > MIN[0] || (major === MIN[0] && minor >= MIN[1]);
}

function fetchNode() {
  const pkg = `node-${process.platform}-${process.arch}`;
  const prefix = join(root, '.cache', 'node', `${NODE_VERSION}-${process.platform}-${process.arch}`);
  const bin = join(prefix, 'node_modules', pkg, 'bin');
  if (existsSync(join(bin, 'node'))) return bin;
  console.log(`node: ${process.version} is older than ${MIN.join('.')}: fetching Node ${NODE_VERSION} (${pkg}) from the npm registry into ${prefix}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', `${pkg}@${NODE_VERSION}`], {
    stdio: 'inherit',
  });
  if (r.status !== 0 || !existsSync(join(bin, 'node'))) {
    console.error(`node: could not fetch ${pkg}@${NODE_VERSION}; install Node ${MIN.join('.')}+ (e.g. with nvm, see .nvmrc) and run the command again`);
    process.exit(1);
  }
  return bin;
}

/**
 * Resolves when this process runs on a supported Node. Otherwise runs the script again on one,
 * passing Ctrl-C and SIGTERM on (`npm start` drains on them), exits with its status, and never
 * resolves.
 */
export function ensureSupportedNode() {
  if (isSupported()) return Promise.resolve();
  const bin = fetchNode();
  const child = spawn(join(bin, 'node'), process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, PATH: `${bin}${process.platform === 'win32' ? ';' : ':'}${process.env.PATH ?? ''}` },
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return new Promise(() => {});
}
