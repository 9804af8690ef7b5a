/**
 * Fault drill (docs/drills.md): under a steady load, kill -9 the workers, restart the Kafka
 * broker, restart PostgreSQL and stop Redis; after each fault, wait until the pipeline is quiet
 * and check that nothing was lost. Prints a table of faults and checks; exits 1 on any loss or
 * mismatch, 2 when the drill itself could not run.
 *
 *   npm run drill [-- --rate 1000] [--phase-seconds 20] [--kills 3] [--redis-down-seconds 30]
 *     [--faults kill,kafka,postgres,redis] [--seed N] [--quiet-timeout-seconds 300]
 *
 * It runs in its own namespace (topics, schema, groups, queue prefix) like the benchmark, with
 * the sync worker and the jobs worker as child processes, restarted like a supervisor would.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isolatedRun } from '../env';
import { RunResources, sleep, WorkerChild } from '../infra';
import { Check, verify } from './checks';
import { FaultError, restartKafka, restartPostgres, startRedis, stopRedis } from './faults';
import { LoadProducer } from './load';

const SYNC_WORKER = resolve(__dirname, '../../apps/sync-worker/src/main.js');
const JOBS_WORKER = resolve(__dirname, '../../apps/jobs-worker/src/main.js');
const FAULTS = ['kill', 'kafka', 'postgres', 'redis'] as const;
type FaultName = (typeof FAULTS)[number];

function args() {
  const a = process.argv.slice(2);
  const value = (name: string) => {
    const i = a.indexOf(`--${name}`);
    return i < 0 ? undefined : a[i + 1];
  };
  const num = (name: string, def: number) => {
    const raw = value(name);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number, got "${raw}"`);
    return n;
  };
  const faults = (value('faults') ?? FAULTS.join(',')).split(',').map((f) => f.trim());
  for (const f of faults) if (!FAULTS.includes(f as FaultName)) throw new Error(`--faults: unknown fault "${f}" (known: ${FAULTS.join(', ')})`);
  return {
    rate: num('rate', 1000),
    phaseSeconds: num('phase-seconds', 20),
    kills: num('kills', 3),
    redisDownSeconds: num('redis-down-seconds', 30),
    quietTimeoutSeconds: num('quiet-timeout-seconds', 300),
    seed: num('seed', Date.now() % 100_000),
    courses: num('courses', 50),
    users: num('users', 2_000),
    poisonEvery: num('poison-every', 2_500),
    faults: faults as FaultName[],
  };
}

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The two workers, restarted at once when they die (as a supervisor would). */
class Workers {
  private readonly children: Record<'sync' | 'jobs', WorkerChild | undefined> = { sync: undefined, jobs: undefined };
  private readonly incarnation = { sync: 0, jobs: 0 };
  /** Exits nobody asked for (a crash, not a kill of ours). */
  readonly unexpectedExits: string[] = [];
  private stopping = false;

  constructor(private readonly env: Record<string, string>, private readonly outDir: string) {}

  start(which: 'sync' | 'jobs'): void {
    const n = ++this.incarnation[which];
    const child = new WorkerChild(which === 'sync' ? SYNC_WORKER : JOBS_WORKER, this.env, { logFile: join(this.outDir, `${which}-worker-${n}.log`) });
    this.children[which] = child;
    child.proc.on('exit', (code, signal) => {
      if (this.stopping || this.children[which] !== child || signal === 'SIGKILL') return;
      this.unexpectedExits.push(`${which} worker #${n} exited (code ${code}, signal ${signal}); see ${which}-worker-${n}.log`);
      log(`  ${which} worker #${n} exited on its own (code ${code}): restarting it`);
      setTimeout(() => !this.stopping && this.start(which), 1000);
    });
  }

  /** kill -9, then a new process after `restartAfterMs` (a supervisor's back-off). */
  async kill9(which: 'sync' | 'jobs', restartAfterMs: number): Promise<void> {
    const child = this.children[which];
    if (child && !child.exited) {
      child.proc.kill('SIGKILL');
      await child.waitExit(10_000);
    }
    await sleep(restartAfterMs);
    this.start(which);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(Object.values(this.children).filter((c) => c !== undefined).map((c) => c.stop()));
  }
}

interface PhaseResult {
  fault: string;
  detail: string;
  injectedAt: string;
  /** How long injecting the fault took (a restart, the outage, the series of kills). */
  lasted: string;
  /** From the end of the load to the last output event: the catch-up. */
  settled: string;
  checks: Check[];
  error?: string;
}

async function main(): Promise<number> {
  const opts = args();
  for (const script of [SYNC_WORKER, JOBS_WORKER]) if (!existsSync(script)) throw new Error(`${script} is missing: run "npm run build"`);
  const outDir = resolve('drill-results', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(outDir, { recursive: true });
  const run = isolatedRun({ LOG_LEVEL: 'info', KAFKA_SESSION_TIMEOUT_MS: '8000', OUTBOX_POLL_MS: '200' });
  const res = new RunResources(run);
  console.log(
    `Fault drill ${run.id}: ${opts.rate} events/s, ${opts.phaseSeconds} s of load per fault, faults ${opts.faults.join(', ')}, seed ${opts.seed}.\n` +
      `It restarts the Kafka broker, PostgreSQL and Redis of this machine: anything else using them sees the outage.\n` +
      `Logs: ${outDir}`,
  );
  await res.setUp();
  const load = new LoadProducer(res.kafka, run.config, opts);
  const workers = new Workers(run.env, outDir);
  const results: PhaseResult[] = [];
  try {
    await load.connect();
    workers.start('sync');
    workers.start('jobs');
    await res.waitGroupStable(run.config.kafka.groupId);

    const faultFns: Record<FaultName, { label: string; inject: () => Promise<string> }> = {
      kill: {
        label: `kill -9 workers ×${opts.kills + 1}`,
        inject: async () => {
          // The sync worker `kills` times, the jobs worker once, at random moments of the load.
          const window = opts.phaseSeconds * 1000 * 0.6;
          const plan = [...Array.from({ length: opts.kills }, () => 'sync' as const), 'jobs' as const]
            .map((which) => ({ which, at: Math.random() * window }))
            .sort((a, b) => a.at - b.at);
          const t0 = performance.now();
          const done: string[] = [];
          for (const step of plan) {
            await sleep(Math.max(0, step.at - (performance.now() - t0)));
            const backoff = Math.round(Math.random() * 2000);
            await workers.kill9(step.which, backoff);
            done.push(`${step.which}@${((performance.now() - t0) / 1000).toFixed(1)}s`);
          }
          return `killed ${done.join(', ')} (restarted after 0–2 s)`;
        },
      },
      kafka: { label: 'restart Kafka broker', inject: () => restartKafka() },
      postgres: { label: 'restart PostgreSQL (immediate)', inject: () => restartPostgres(run.config.database.url) },
      redis: {
        label: `stop Redis ${opts.redisDownSeconds} s`,
        inject: async () => {
          const how = await stopRedis(run.config.redis.url);
          await sleep(opts.redisDownSeconds * 1000);
          return `${how}; ${await startRedis()}`;
        },
      },
    };

    const t0 = performance.now();
    for (const name of opts.faults) {
      const fault = faultFns[name];
      log(`${fault.label}: load on`);
      const phaseStart = performance.now();
      load.start();
      await sleep((0.2 + Math.random() * 0.3) * opts.phaseSeconds * 1000);
      const injectedAt = `${secs(performance.now() - t0)}`;
      log(`  injecting: ${fault.label}`);
      let detail = '';
      let error: string | undefined;
      const faultStart = performance.now();
      try {
        detail = await fault.inject();
      } catch (err) {
        error = err instanceof FaultError ? err.message : (err as Error).stack ?? String(err);
      }
      const faultOver = performance.now();
      log(`  ${error ? `fault could not be injected: ${error}` : detail}`);
      await sleep(Math.max(0, opts.phaseSeconds * 1000 - (performance.now() - phaseStart)));
      await load.stop();
      const loadOff = performance.now();
      log(`  load off (${load.sent.toLocaleString('en-US')} sent so far, ${load.failedSends} failed sends retried${load.lastError ? `, last error: ${load.lastError}` : ''}); waiting until quiet`);
      const quiet = await waitQuiet(res, opts.quietTimeoutSeconds * 1000);
      const settled = quiet.ok ? secs(Math.max(0, quiet.at - loadOff)) : `not quiet after ${opts.quietTimeoutSeconds} s`;
      log(`  ${quiet.ok ? `settled ${settled} after the load stopped` : `NOT QUIET: ${quiet.pending}`}; checking`);
      const checks = await verify(res.kafka, res.ds, run.config, load);
      if (!quiet.ok) checks.unshift({ name: 'quiet', ok: false, summary: 'not quiet', problems: [quiet.pending] });
      for (const c of checks) log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.summary}${c.ok ? '' : `\n        ${c.problems.join('\n        ')}`}`);
      results.push({ fault: fault.label, detail, injectedAt, lasted: secs(faultOver - faultStart), settled, checks, error });
    }
  } finally {
    await workers.stop();
    await load.disconnect();
  }

  const unexpected = workers.unexpectedExits;
  printTable(results, unexpected);
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ run: run.id, opts, results, unexpectedExits: unexpected }, null, 2));
  await res.tearDown();
  const failed = results.some((r) => r.error || r.checks.some((c) => !c.ok));
  console.log(failed ? '\nDRILL FAILED: see the problems above.' : '\nDrill passed: nothing lost, nothing duplicated, every poison message dead-lettered once.');
  return failed ? 1 : 0;
}

/** Waits until every input is committed, the outbox and recompute requests are empty, and the output topic has stopped growing. */
async function waitQuiet(res: RunResources, timeoutMs: number): Promise<{ ok: boolean; at: number; pending: string }> {
  const deadline = performance.now() + timeoutMs;
  const outputTopic = res.run.config.topics.courseEnrollments;
  let lastOutput = -1;
  let stableSince = performance.now();
  let pending = 'not checked yet';
  while (performance.now() < deadline) {
    try {
      const [committed, high, outbox, recomputes, offsets] = await Promise.all([
        res.committed(),
        res.inputHighWatermark(),
        res.outboxSize(),
        res.pendingRecomputes(),
        res.admin.fetchTopicOffsets(outputTopic),
      ]);
      const output = offsets.reduce((s, p) => s + Number(p.high), 0);
      if (output !== lastOutput) {
        lastOutput = output;
        stableSince = performance.now();
      }
      pending = `committed ${committed}/${high}, outbox ${outbox}, recompute requests ${recomputes}`;
      if (committed >= high && outbox === 0 && recomputes === 0 && performance.now() - stableSince >= 3000) {
        return { ok: true, at: stableSince, pending: '' };
      }
    } catch (err) {
      pending = `checking failed: ${(err as Error).message}`;
    }
    await sleep(1000);
  }
  return { ok: false, at: performance.now(), pending };
}

function printTable(results: PhaseResult[], unexpected: string[]): void {
  const names = [...new Set(results.flatMap((r) => r.checks.map((c) => c.name)))];
  const head = ['fault', 'injected at', 'lasted', 'settled after load', ...names];
  const rows = results.map((r) => [
    r.fault,
    r.error ? 'NOT INJECTED' : r.injectedAt,
    r.lasted,
    r.settled,
    ...names.map((n) => {
      const c = r.checks.find((x) => x.name === n);
      return c ? `${c.ok ? 'ok' : 'FAIL'}: ${c.summary}` : '';
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(line).join('\n')}`);
  for (const r of results) if (r.detail) console.log(`  ${r.fault}: ${r.detail}`);
  for (const r of results) if (r.error) console.log(`  ${r.fault}: NOT INJECTED: ${r.error}`);
  if (unexpected.length) console.log(`Workers that exited on their own (restarted): ${unexpected.join('; ')}`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`drill could not run: ${(err as Error).stack ?? err}`);
    process.exit(2);
  },
);
