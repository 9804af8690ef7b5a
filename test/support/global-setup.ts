// Integration tests need the real services: bring them up (idempotent) unless the caller did.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default async function globalSetup(): Promise<void> {
  if (process.env.INFRA_READY === '1') return;
  const scripts = join(__dirname, '..', '..', 'scripts');
  execFileSync(process.execPath, [join(scripts, 'run-ts.mjs'), join(scripts, 'infra', 'cli.ts'), 'up', '--secure'], { stdio: 'inherit' });
  process.env.INFRA_READY = '1';
}
