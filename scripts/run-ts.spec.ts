// scripts/run-ts.mjs is how `npm run infra:*`, `npm test` and `npm start` run the infra CLI
// before anything is built: it must compile the sources and hand the arguments to main().
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const runTs = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'scripts', 'run-ts.mjs'), ...args], { cwd: ROOT, encoding: 'utf8' });

describe('scripts/run-ts.mjs', () => {
  it("runs the infra CLI from its TypeScript sources and exits with main()'s code", () => {
    const r = runTs('scripts/infra/cli.ts', 'no-such-command');
    expect(r.stderr).toContain('usage: npm run infra:up');
    expect(r.status).toBe(2);
  });

  it('takes only a .ts entry', () => {
    const r = runTs('scripts/start.mjs');
    expect(r.stderr).toContain('usage: node scripts/run-ts.mjs <entry.ts>');
    expect(r.status).toBe(2);
  });

  it('refuses an entry without main(argv)', () => {
    const r = runTs('scripts/infra/settings.ts');
    expect(r.stderr).toContain('exports no main(argv)');
    expect(r.status).toBe(2);
  });
});
