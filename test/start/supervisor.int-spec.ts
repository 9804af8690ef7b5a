/**
 * `npm start` supervises the three apps: a child that dies (kill -9) comes back, with backoff,
 * and SIGTERM to the supervisor drains all of them and restarts nothing. Runs the real
 * `scripts/start.mjs` on the built apps (`npm run build` first) in this run's namespace.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createDataSource, migrateUp } from '@app/persistence';
import { eventually } from '../support/eventually';
import { isolatedConfig } from '../support/isolation';
import { createRunTopics } from '../support/kafka';
import { envOf } from '../support/pipeline';

const ROOT = join(__dirname, '..', '..');
const START = join(ROOT, 'scripts', 'start.mjs');
const TOKEN = 's'.repeat(32);

/** A port free right now (the apps take the port they are given; /health must be reachable). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The live child processes of `ppid` and their command lines (Linux /proc). */
function childrenOf(ppid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== ppid || fields[0] === 'Z') continue;
      out.push({ pid: Number(entry), cmd: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

describe('npm start supervises the apps', () => {
  const config = isolatedConfig({ API_TOKENS: TOKEN });
  let supervisor: ChildProcess | undefined;
  let dropTopics: (() => Promise<void>) | undefined;
  const log: string[] = [];
  /** `eventually`, with the supervisor's last lines in the failure. */
  const waitFor = <T>(probe: () => Promise<T | undefined>, what: string, timeoutMs?: number): Promise<T> =>
    eventually(probe, what, timeoutMs).catch((err: Error) => {
      throw new Error(`${err.message}; npm start said:\n${log.slice(-60).join('\n')}`);
    });

  beforeAll(async () => {
    for (const app of ['sync-worker', 'jobs-worker', 'read-api']) {
      const main = join(ROOT, 'dist', 'apps', app, 'src', 'main.js');
      if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build" first`);
    }
    dropTopics = await createRunTopics(config);
    const ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    await ds.destroy();
  });

  afterAll(async () => {
    if (supervisor && supervisor.exitCode === null && supervisor.signalCode === null) {
      for (const c of childrenOf(supervisor.pid!)) process.kill(c.pid, 'SIGKILL');
      supervisor.kill('SIGKILL');
    }
    await dropTopics?.();
    const ds = await createDataSource(config.database).initialize();
    await ds.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds.destroy();
  });

  it('restarts an app killed with SIGKILL, and SIGTERM stops all of them without restarts', async () => {
    const [apiPort, syncPort, jobsPort] = [await freePort(), await freePort(), await freePort()];
    supervisor = spawn(process.execPath, [START, '--apps-only'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...envOf(config),
        API_TOKENS: TOKEN,
        API_PORT: String(apiPort),
        SYNC_WORKER_METRICS_PORT: String(syncPort),
        JOBS_WORKER_METRICS_PORT: String(jobsPort),
        // A quick first restart, so the test does not wait on the default 1 s.
        START_RESTART_BASE_MS: '200',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      supervisor!.once('exit', (code, signal) => resolve({ code, signal })),
    );
    for (const stream of [supervisor.stdout!, supervisor.stderr!]) {
      stream.on('data', (chunk: Buffer) => log.push(...chunk.toString().split('\n').filter(Boolean)));
    }
    const supervisorPid = supervisor.pid!;
    const syncLive = `http://127.0.0.1:${syncPort}/health/live`;
    const syncWorker = () => childrenOf(supervisorPid).find((c) => c.cmd.includes(join('sync-worker', 'src', 'main.js')));

    await waitFor(async () => ((await answers(`http://127.0.0.1:${apiPort}/health/ready`)) ? true : undefined), 'the read API to be ready', 150_000);
    await waitFor(async () => ((await answers(syncLive)) ? true : undefined), "the sync worker's /health/live");
    const first = syncWorker();
    expect(first).toBeDefined();
    expect(childrenOf(supervisorPid)).toHaveLength(3);

    process.kill(first!.pid, 'SIGKILL');
    const second = await waitFor(
      async () => {
        const c = syncWorker();
        return c && c.pid !== first!.pid && (await answers(syncLive)) ? c : undefined;
      },
      'a new sync worker answering /health/live after kill -9',
      60_000,
    );
    expect(second.pid).not.toBe(first!.pid);
    // The supervisor is still there, with all three apps, and said why it restarted.
    expect(supervisor.exitCode).toBeNull();
    expect(childrenOf(supervisorPid)).toHaveLength(3);
    expect(log.some((l) => /sync-worker.*SIGKILL.*restart/i.test(l))).toBe(true);

    // A second crash soon after the first waits twice as long (crashes in a row back off).
    process.kill(second.pid, 'SIGKILL');
    await waitFor(
      async () => {
        const c = syncWorker();
        return c && c.pid !== second.pid && (await answers(syncLive)) ? c : undefined;
      },
      'the sync worker back after a second kill -9',
      60_000,
    );
    const delays = log.filter((l) => /\[sync-worker\] exited/.test(l)).map((l) => Number(/restarting in (\d+) ms/.exec(l)?.[1]));
    expect(delays).toEqual([200, 400]);

    const pids = childrenOf(supervisorPid).map((c) => c.pid);
    supervisor.kill('SIGTERM');
    const end = await exited;
    expect(end).toEqual({ code: 0, signal: null });
    expect(pids.filter(alive)).toEqual([]);
    // Draining is not a crash: the supervisor restarted nothing after SIGTERM (an app's own log
    // lines, such as kafkajs rejoining its group during the drain, are not its restarts).
    const afterTerm = log.slice(log.findIndex((l) => /SIGTERM/.test(l)));
    expect(afterTerm.filter((l) => /\] exited \(.*: restarting in \d+ ms/.test(l))).toEqual([]);
  }, 300_000);
});
