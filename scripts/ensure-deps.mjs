// Runs before `npm test`, `npm start` and `npm run demo`: installs the locked npm packages when
// node_modules is missing or older than package-lock.json, so both quick-start commands work on
// a fresh clone. Uses only Node's built-ins (nothing is installed yet when it runs).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.enrollment-sync-lock-hash');
const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');

if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) process.exit(0);

console.log('deps: installing the locked npm packages (npm ci)...');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
execFileSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root, stdio: 'inherit' });
writeFileSync(stamp, hash);
console.log('deps: installed');
