// Integration tests need the real services: bring them up (idempotent) unless the caller did.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default async function globalSetup(): Promise<void> {
  if (process.env.INFRA_READY === '1') return;
  execFileSync(process.execPath, [join(__dirname, '..', '..', 'scripts', 'infra.mjs'), 'up', '--secure'], { stdio: 'inherit' });
  process.env.INFRA_READY = '1';
}
