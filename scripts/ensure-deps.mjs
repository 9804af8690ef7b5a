// Runs before `npm test`, `npm start` and `npm run demo`: installs the locked npm packages when
// node_modules is missing or older than package-lock.json, so both quick-start commands work on
// a fresh clone. Uses only Node's built-ins (nothing is installed yet when it runs).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureSupportedNode } from './node-runtime.mjs';

await ensureSupportedNode();
const root = join(import.meta.dirname, '..');
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.enrollment-sync-lock-hash');
const lockHash = () => createHash('sha256').update(readFileSync(lock)).digest('hex');
const hash = lockHash();

if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) process.exit(0);

// `npm install` rather than `npm ci`: both install the versions package-lock.json pins, but
// `npm ci` also insists that every platform's optional native build (e.g. @swc/core for
// darwin and win32) is listed, and registries that mirror only some platforms cannot list them.
console.log('deps: installing the locked npm packages (npm install)...');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
execFileSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root, stdio: 'inherit' });
writeFileSync(stamp, lockHash()); // npm may have normalised the lock file
console.log('deps: installed');
