// node dist/scripts/healthcheck.js: the image's HEALTHCHECK. Each container runs one app, which
// serves /health/live on its own port (the read API on API_PORT, a worker on its metrics port):
// healthy when one of those ports answers 200. Exit 0 healthy, 1 not.
import { loadConfig } from '@app/config';

async function live(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const ports = [config.api.port, config.metricsPorts.syncWorker, config.metricsPorts.jobsWorker].filter((p) => p > 0);
  const answers = await Promise.all(ports.map(live));
  process.exit(answers.some(Boolean) ? 0 : 1);
}

main().catch(() => process.exit(1));
