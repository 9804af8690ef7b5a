/**
 * The infrastructure faults of the drill. Each default acts on the services of a machine set up
 * by `npm run infra:up` (the project's own Kafka broker, the local PostgreSQL cluster, the local
 * Redis); an environment variable replaces it with any shell command, e.g. for Docker:
 *
 *   DRILL_KAFKA_RESTART="docker compose restart kafka"
 *   DRILL_POSTGRES_RESTART="docker compose restart postgres"
 *   DRILL_REDIS_STOP="docker compose stop redis"   DRILL_REDIS_START="docker compose start redis"
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import Redis from 'ioredis';

const ROOT = resolve(__dirname, '..', '..', '..');
// `npm run infra:*` as argv: the runner compiles the infra sources on demand, so it works with or without a build.
const INFRA = [resolve(ROOT, 'scripts', 'run-ts.mjs'), resolve(ROOT, 'scripts', 'infra', 'cli.ts')];

export interface CommandResult {
  ok: boolean;
  output: string;
  ms: number;
}

/** Runs a command (argv, or a shell string) to completion; never throws. */
export function runCommand(cmd: string | string[], env: NodeJS.ProcessEnv = process.env): Promise<CommandResult> {
  const t0 = performance.now();
  const [file, args, shell] = typeof cmd === 'string' ? [cmd, [], true] : [cmd[0], cmd.slice(1), false];
  return new Promise((done) => {
    const child = spawn(file, args, { cwd: ROOT, env, shell, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', (err) => done({ ok: false, output: `${output}${err.message}`, ms: performance.now() - t0 }));
    child.on('close', (code) => done({ ok: code === 0, output: output.trim(), ms: performance.now() - t0 }));
  });
}

export class FaultError extends Error {}

async function must(what: string, cmd: string | string[], env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  const r = await runCommand(cmd, env);
  if (!r.ok) throw new FaultError(`${what} failed: ${r.output.split('\n').slice(-5).join(' | ')}`);
  return r;
}

/** Stops the broker and starts it again; returns how long it was away. */
export async function restartKafka(): Promise<string> {
  const custom = process.env.DRILL_KAFKA_RESTART;
  if (custom) return `${custom}: ${((await must('DRILL_KAFKA_RESTART', custom)).ms / 1000).toFixed(1)} s`;
  // Restart the version that is running (`down` alone would stop every broker it started).
  const status = await runCommand([process.execPath, ...INFRA, 'status']);
  const version = /kafka: up on \S+ \((\d+\.\d+\.\d+), pid/.exec(status.output)?.[1];
  if (!version) throw new FaultError(`no broker started by npm run infra:up answers, so the drill cannot restart it (set DRILL_KAFKA_RESTART)`);
  const env = { ...process.env, KAFKA_VERSION: version };
  const down = await must('infra:down', [process.execPath, ...INFRA, 'down'], env);
  if (!/stopped pid/.test(down.output)) {
    throw new FaultError(`the broker was not started by npm run infra:up, so the drill cannot restart it (set DRILL_KAFKA_RESTART): ${down.output.split('\n')[0]}`);
  }
  const up = await must('infra:up', [process.execPath, ...INFRA, 'up'], env);
  return `${version} stopped (SIGTERM) and started again, away ${((down.ms + up.ms) / 1000).toFixed(1)} s`;
}

/** The local cluster serving `databaseUrl`'s port, from pg_lsclusters ("15 main 5432 online …"). */
async function localCluster(databaseUrl: string): Promise<{ version: string; name: string }> {
  const port = new URL(databaseUrl).port || '5432';
  const r = await runCommand(['pg_lsclusters', '-h']);
  if (!r.ok) throw new FaultError(`pg_lsclusters is not available (${r.output}); set DRILL_POSTGRES_RESTART`);
  const line = r.output
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[2] === port);
  if (!line) throw new FaultError(`no local PostgreSQL cluster on port ${port}; set DRILL_POSTGRES_RESTART`);
  return { version: line[0], name: line[1] };
}

/**
 * Restarts PostgreSQL in `immediate` mode: every connection is cut and the server runs crash
 * recovery on start, as after a power loss.
 */
export async function restartPostgres(databaseUrl: string): Promise<string> {
  const custom = process.env.DRILL_POSTGRES_RESTART;
  if (custom) return `${custom}: ${((await must('DRILL_POSTGRES_RESTART', custom)).ms / 1000).toFixed(1)} s`;
  const c = await localCluster(databaseUrl);
  const r = await must('pg_ctlcluster restart', ['pg_ctlcluster', '--skip-systemctl-redirect', '-m', 'immediate', c.version, c.name, 'restart']);
  return `pg_ctlcluster -m immediate ${c.version} ${c.name} restart, ${(r.ms / 1000).toFixed(1)} s`;
}

/** Shuts Redis down without saving: its queues are gone, as when a cache node is replaced. */
export async function stopRedis(redisUrl: string): Promise<string> {
  const custom = process.env.DRILL_REDIS_STOP;
  if (custom) return `${custom}: ${((await must('DRILL_REDIS_STOP', custom)).ms / 1000).toFixed(1)} s`;
  // Errors are expected here (the server goes away); the outcome is read from the probes below.
  const quietClient = (url: string) => new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null }).on('error', () => undefined);
  const client = quietClient(redisUrl);
  await client.connect();
  // SHUTDOWN closes the connection instead of answering.
  await client.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
  client.disconnect();
  for (let i = 0; i < 50; i++) {
    const probe = quietClient(redisUrl);
    const up = await probe.connect().then(
      () => true,
      () => false,
    );
    probe.disconnect();
    if (!up) return 'SHUTDOWN NOSAVE (data dropped)';
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new FaultError('Redis still answers after SHUTDOWN NOSAVE');
}

export async function startRedis(): Promise<string> {
  const custom = process.env.DRILL_REDIS_START;
  if (custom) return `${custom}: ${((await must('DRILL_REDIS_START', custom)).ms / 1000).toFixed(1)} s`;
  const r = await must('infra:up', [process.execPath, ...INFRA, 'up']);
  return /redis: not answering/.test(r.output) ? 'started again by infra:up' : 'infra:up (Redis was already back)';
}
