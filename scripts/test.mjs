// `npm test`: brings the local infrastructure up (idempotent), type-checks, then runs every jest
// project (unit, then integration on the real Kafka, Postgres and Redis). Extra arguments go to
// jest, e.g. `npm test -- --selectProjects unit` or `npm test -- libs/domain`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const started = Date.now();
const run = (label, cmd, args, env = {}) => {
  console.log(`\n== ${label}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`== ${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
};

const bin = (name) => join(root, 'node_modules', '.bin', name);
const jestArgs = process.argv.slice(2);
const unitOnly = jestArgs.join(' ').includes('--selectProjects unit');

// --secure: the SASL_SSL listener that test/security/kafka-sasl-ssl.int-spec.ts connects through.
if (!unitOnly) run('infrastructure', process.execPath, [join(root, 'scripts', 'infra.mjs'), 'up', '--secure']);
run('type check', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
// The end-to-end drill runs the built worker as a child process and kills it.
if (!unitOnly) run('build', process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent']);

const report = join(mkdtempSync(join(tmpdir(), 'enrollment-sync-jest-')), 'report.json');
console.log('\n== jest');
const jest = spawnSync(bin('jest'), ['--json', `--outputFile=${report}`, ...jestArgs], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, INFRA_READY: '1' },
});
let summary = 'no jest report written';
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  summary = `${r.numPassedTests} passed, ${r.numFailedTests} failed`;
  if (r.numTotalTests === 0) {
    console.error('jest ran no test');
    process.exit(1);
  }
} catch {
  /* jest crashed before writing its report: its exit code says so */
}
console.log(`\nsuite took ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`tests: ${summary}`);
process.exit(jest.status ?? 1);
