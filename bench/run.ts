/**
 * Throughput, latency and resource benchmark of the sync pipeline (see docs/performance.md).
 *
 *   npm run build && node dist/bench/run.js [--events N] [--courses C] [--users U] [--naive-events N]
 *     [--stock-nest-events N] [--rate R] [--latency-seconds S] [--recompute-enrollments N] [--profile]
 *     [--skip-naive] [--skip-stock-nest] [--skip-latency] [--skip-recompute] [--recompute-only]
 *     [--worker-env KEY=VALUE ...] [--runs K] [--replicas 1,2,3]
 *
 * Every measurement runs in its own namespace (topics, schema, groups, queue prefix); the
 * workers run as child processes exactly as deployed.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { clock, events, syntheticWorkload } from '@app/workload';
import { pgConnection } from '@app/persistence';
import { extraWorkerEnv, isolatedRun } from './env';
import { RunResources, WorkerChild, machineCpu, sleep } from './infra';
import { rawConsume, rawPgInsert } from './limits';
import { DoneResult, OutMessage, OutputWatcher, perSecond, produceAll, produceAtRate, rebind, toKafka, waitDone } from './pipeline';
import { PostgresSampler, PostgresTime } from './postgres-sampler';
import { ReplicaResult, replicaRun, waitMembers } from './replica-run';
import { chartSvg, grid, percentile, summariseCpuProfile, table } from './report';

const SYNC_WORKER = resolve(__dirname, '../apps/sync-worker/src/main.js');
const JOBS_WORKER = resolve(__dirname, '../apps/jobs-worker/src/main.js');
/** The stock-Nest baseline: Transport.KAFKA, one handler call and one transaction per message. */
const STOCK_NEST_WORKER = resolve(__dirname, 'stock-nest/main.js');

function args() {
  const a = process.argv.slice(2);
  const num = (name: string, def: number) => {
    const i = a.indexOf(`--${name}`);
    if (i < 0) return def;
    const n = Number(a[i + 1]);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
    return n;
  };
  const flag = (name: string) => a.includes(`--${name}`);
  const list = (name: string): number[] | undefined => {
    const i = a.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const ns = (a[i + 1] ?? '').split(',').map(Number);
    if (ns.length === 0 || ns.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`--${name} needs positive integers, comma separated (e.g. 1,2,3)`);
    return ns;
  };
  a.forEach((v, i) => {
    if (v !== '--worker-env') return;
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(a[i + 1] ?? '');
    if (!m) throw new Error('--worker-env needs KEY=VALUE');
    extraWorkerEnv[m[1]] = m[2];
  });
  return {
    events: num('events', 200_000),
    courses: num('courses', 200),
    users: num('users', 5_000),
    naiveEvents: num('naive-events', 20_000),
    stockNestEvents: num('stock-nest-events', num('naive-events', 20_000)),
    rate: num('rate', 2_000),
    latencySeconds: num('latency-seconds', 15),
    recomputeEnrollments: num('recompute-enrollments', 100_000),
    profile: flag('profile'),
    skipNaive: flag('skip-naive'),
    skipStockNest: flag('skip-stock-nest'),
    skipLatency: flag('skip-latency'),
    skipRecompute: flag('skip-recompute'),
    recomputeOnly: flag('recompute-only'),
    runs: num('runs', 3),
    replicas: list('replicas'),
  };
}

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const fmt = (n: number | undefined, d = 0) =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const mb = (b?: number) => (b === undefined ? undefined : b / 1024 / 1024);

interface PipelineResult {
  runId: string;
  events: number;
  sliceSize: number;
  done: DoneResult;
  eventsPerSec: number;
  peakRssBytes?: number;
  /** CPU use during the run, in cores (CPU seconds / wall seconds). */
  cpu?: { worker: number; bench: number; machineBusy: number; cores: number };
  workerExitCode: number | null;
  /** Postgres statement time of the run's sessions (sampled, see postgres-sampler.ts) */
  postgres: PostgresTime & { activeMsPerEvent: number };
  /** the most rows the outbox held at a once-a-second sample */
  outboxPeak: number;
}

/** One isolated end-to-end run at saturation: worker up, produce everything, wait until done. */
async function saturationRun(
  label: string,
  msgs: OutMessage[],
  outDir: string,
  overrides: Record<string, string>,
  opts: { profile?: boolean; keep?: (res: RunResources) => Promise<void>; script?: string } = {},
): Promise<PipelineResult> {
  const run = isolatedRun(overrides);
  const res = new RunResources(run);
  log(`${label}: run ${run.id}, ${msgs.length} events, INGEST_SLICE_SIZE=${run.config.ingestSliceSize}`);
  await res.setUp();
  const watcher = new OutputWatcher(res, false);
  const sampler = new PostgresSampler(run.config.database);
  let worker: WorkerChild | undefined;
  try {
    // Rebind the messages to this run's topics.
    const rebound = rebind(msgs, run.config.topics);
    await watcher.start();
    worker = new WorkerChild(opts.script ?? SYNC_WORKER, run.env, { logFile: join(outDir, `worker-${label}.log`), cpuProfDir: opts.profile ? outDir : undefined });
    await res.waitGroupStable(run.config.kafka.groupId);
    const producer = res.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    let producing = true;
    const cpu0 = { worker: worker.cpuSeconds() ?? 0, bench: process.cpuUsage(), machine: machineCpu() };
    await sampler.start();
    const startedAt = performance.now();
    const produced = produceAll(producer, rebound).finally(() => (producing = false));
    const [done] = await Promise.all([waitDone(res, watcher, startedAt, { producing: () => producing }), produced]);
    const pgTime = await sampler.stop();
    await producer.disconnect();
    const peakRssBytes = worker.peakRss();
    const wall = (performance.now() - startedAt) / 1000;
    const bench = process.cpuUsage(cpu0.bench);
    const m1 = machineCpu();
    const cpu = {
      worker: ((worker.cpuSeconds() ?? 0) - cpu0.worker) / wall,
      bench: (bench.user + bench.system) / 1e6 / wall,
      machineBusy: (m1.busy - cpu0.machine.busy) / wall,
      cores: (m1.total - cpu0.machine.total) / wall,
    };
    const eventsPerSec = msgs.length / (done.durationMs / 1000);
    log(
      `${label}: ${fmt(eventsPerSec)} events/s, ${done.outputs} outputs in ${fmt(done.durationMs / 1000, 1)} s${done.timedOut ? ' (STALLED)' : ''}, peak RSS ${fmt(mb(peakRssBytes), 1)} MB; CPU cores busy: worker ${fmt(cpu.worker, 2)}, bench ${fmt(cpu.bench, 2)}, machine ${fmt(cpu.machineBusy, 2)} of ${fmt(cpu.cores, 1)}`,
    );
    await worker.stop();
    if (opts.keep) await opts.keep(res);
    const postgres = { ...pgTime, activeMsPerEvent: (pgTime.activeSeconds * 1000) / msgs.length };
    const outboxPeak = Math.max(0, ...done.samples.map((s) => s.outbox ?? 0));
    log(
      `${label}: Postgres ${fmt(postgres.activeMsPerEvent, 3)} ms of statements per event (lock waits ${fmt(pgTime.lockSeconds, 1)} s, I/O waits ${fmt(pgTime.ioSeconds, 1)} s, relay ${fmt(pgTime.relaySeconds, 1)} s of ${fmt(pgTime.activeSeconds, 1)} s); outbox peak ${fmt(outboxPeak)} rows`,
    );
    return {
      runId: run.id,
      events: msgs.length,
      sliceSize: run.config.ingestSliceSize,
      done,
      eventsPerSec,
      peakRssBytes,
      cpu,
      workerExitCode: worker.exitCode,
      postgres,
      outboxPeak,
    };
  } finally {
    await sampler.stop();
    await worker?.stop();
    await watcher.stop();
    await res.tearDown();
  }
}

async function latencyRun(msgs: OutMessage[], rate: number, outDir: string, replicas = 1) {
  const run = isolatedRun();
  const res = new RunResources(run);
  log(`latency: run ${run.id}, ${msgs.length} events at ${rate}/s, ${replicas} sync worker${replicas > 1 ? 's' : ''}`);
  await res.setUp();
  const watcher = new OutputWatcher(res, true);
  const workers: WorkerChild[] = [];
  try {
    const rebound = rebind(msgs, run.config.topics);
    await watcher.start();
    for (let i = 1; i <= replicas; i++) {
      workers.push(new WorkerChild(SYNC_WORKER, run.env, { logFile: join(outDir, replicas > 1 ? `worker-latency-r${replicas}-${i}.log` : 'worker-latency.log') }));
    }
    await waitMembers(res, run.config.kafka.groupId, replicas);
    const producer = res.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const startedAt = performance.now();
    const sentAt = await produceAtRate(producer, rebound, rate);
    const offeredSeconds = (performance.now() - startedAt) / 1000;
    const done = await waitDone(res, watcher, startedAt);
    await producer.disconnect();
    const peakRssBytes = Math.max(0, ...workers.map((w) => w.peakRss() ?? 0)) || undefined;
    await Promise.all(workers.map((w) => w.stop()));
    const lat: number[] = [];
    rebound.forEach((m, i) => {
      const at = watcher.causeArrival.get(m.id);
      if (at !== undefined) lat.push(at - sentAt[i]);
    });
    lat.sort((a, b) => a - b);
    const pct = { p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99), max: lat.at(-1) ?? NaN };
    log(`latency: ${lat.length}/${msgs.length} inputs produced an output; p50 ${fmt(pct.p50)} ms, p95 ${fmt(pct.p95)} ms, p99 ${fmt(pct.p99)} ms`);
    return {
      runId: run.id,
      offered: msgs.length,
      rate,
      offeredSeconds,
      matched: lat.length,
      outputs: done.outputs,
      ...pct,
      latencies: lat,
      peakRssBytes,
      timedOut: done.timedOut,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await watcher.stop();
    await res.tearDown();
  }
}

async function recomputeRun(
  enrollments: number,
  outDir: string,
): Promise<{ measured: boolean; reason?: string; seconds?: number; republished?: number; seedSeconds?: number }> {
  if (!existsSync(JOBS_WORKER)) return { measured: false, reason: 'jobs worker not available (no dist/apps/jobs-worker/src/main.js)' };
  const run = isolatedRun();
  const res = new RunResources(run);
  log(`recompute: run ${run.id}, ${enrollments} enrollments in one course`);
  await res.setUp();
  const watcher = new OutputWatcher(res, false);
  let sync: WorkerChild | undefined;
  let jobs: WorkerChild | undefined;
  try {
    await watcher.start();
    jobs = new WorkerChild(JOBS_WORKER, run.env, { logFile: join(outDir, 'jobs-worker-recompute.log') });
    sync = new WorkerChild(SYNC_WORKER, run.env, { logFile: join(outDir, 'worker-recompute.log') });
    if (await jobs.waitExit(4000)) {
      const tail = readFileSync(join(outDir, 'jobs-worker-recompute.log'), 'utf8').slice(-600);
      return { measured: false, reason: `jobs worker not available (exited with ${jobs.exitCode} at boot: ${tail.trim().split('\n').at(-1)})` };
    }
    await res.waitGroupStable(run.config.kafka.groupId);
    const tick = clock('2026-10-01T00:00:00.000Z');
    let seq = 0;
    const meta = () => ({ time: tick(), id: `rc-${++seq}`, source: '/bench' });
    const seed = [
      events.courseUpserted({ id: 1, name: 'Big course', slug: 'big', type: 'self-paced', privacy: 'open' }, meta()),
      events.sectionUpserted(1, { id: 11, name: 'S1', position: 1 }, meta()),
      events.sectionUpserted(1, { id: 12, name: 'S2', position: 2 }, meta()),
      ...Array.from({ length: 8 }, (_, i) =>
        events.lessonUpserted(1, { id: 101 + i, section_id: i < 4 ? 11 : 12, name: `Lesson ${i + 1}`, status: 'published', position: i + 1 }, meta()),
      ),
    ];
    for (let u = 1; u <= enrollments; u++) seed.push(events.membershipChanged({ course_id: 1, user_id: u, join_status: 'joined' }, meta()));
    const producer = res.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const seedStart = performance.now();
    let producing = true;
    const produced = produceAll(producer, toKafka(run.config, seed)).finally(() => (producing = false));
    const [seeded] = await Promise.all([waitDone(res, watcher, seedStart, { producing: () => producing, stallMs: 120_000 }), produced]);
    const seedSeconds = seeded.durationMs / 1000;
    log(`recompute: seeded ${enrollments} memberships (${seeded.outputs} outputs) in ${fmt(seedSeconds, 1)} s`);
    if (seeded.timedOut) return { measured: false, reason: 'seeding stalled', seedSeconds };
    // The course's structure events left a recompute request: the jobs worker must complete it.
    const reqDeadline = performance.now() + 60_000;
    while ((await res.pendingRecomputes()) > 0 && performance.now() < reqDeadline && !jobs.exited) await sleep(500);
    const pending = await res.pendingRecomputes();
    if (pending > 0) {
      return {
        measured: false,
        reason: `jobs worker not available (${jobs.exited ? `exited with ${jobs.exitCode}` : `running, but ${pending} recompute request(s) not completed within 60 s`})`,
        seedSeconds,
      };
    }
    await sleep(2500); // quiet after the initial recompute's outputs
    const base = watcher.count;
    const t0 = performance.now();
    await produceAll(producer, toKafka(run.config, [events.lessonUpserted(1, { id: 109, section_id: 12, name: 'Lesson 9', status: 'published', position: 9 }, meta())]));
    const limitMs = 300_000;
    let lastCount = base;
    let lastChange = performance.now();
    while (watcher.count - base < enrollments && performance.now() - t0 < limitMs) {
      await sleep(100);
      if (watcher.count !== lastCount) {
        lastCount = watcher.count;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > 60_000) break;
      if (jobs.exited) break;
    }
    await producer.disconnect();
    const republished = watcher.count - base;
    if (republished < enrollments) {
      const why = jobs.exited ? `jobs worker exited with ${jobs.exitCode}` : `stopped after ${fmt((performance.now() - t0) / 1000, 1)} s`;
      log(`recompute: only ${republished}/${enrollments} republished (${why})`);
      return { measured: false, reason: `only ${republished} of ${enrollments} republished (${why})`, republished, seedSeconds };
    }
    const seconds = (watcher.lastAt - t0) / 1000;
    log(`recompute: ${republished} republished in ${fmt(seconds, 1)} s`);
    return { measured: true, seconds, republished, seedSeconds };
  } finally {
    await sync?.stop();
    await jobs?.stop();
    await watcher.stop();
    await res.tearDown();
  }
}

function machine(pgVersion: string) {
  let kafka = 'unknown';
  try {
    const status = execSync('npm run infra:status --silent', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    kafka = /kafka: up on [^ ]+ \(([^,]+)/.exec(status)?.[1] ?? kafka;
  } catch {
    /* reported as unknown */
  }
  return { cores: cpus().length, cpu: cpus()[0]?.model, ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10, node: process.version, kafka, postgres: pgVersion };
}

/** The median element by `key` (the lower middle of an even count). */
function medianOf<T>(xs: T[], key: (x: T) => number): T {
  return [...xs].sort((a, b) => key(a) - key(b))[Math.floor((xs.length - 1) / 2)];
}

interface Target {
  name: string;
  value: string;
  met: boolean | null;
  /** why it was missed (or not measured), from this run's own figures */
  reason: string;
}

type LatencyResult = Awaited<ReturnType<typeof latencyRun>>;
type RecomputeResult = Awaited<ReturnType<typeof recomputeRun>>;

/** One single-replica saturation run, as the carried targets need it. */
interface SingleRun {
  eventsPerSec: number;
  stalled: boolean;
  peakRssMb?: number;
  outputs: number;
  machineBusy?: number;
  cores?: number;
  workerCores?: number;
  pgMsPerEvent: number;
  lockShare: number;
  outboxPeak: number;
}

/**
 * The performance targets carried over in issue 12 (single replica, default config, median of
 * the runs), each met or not, and when not, the reason this run's own figures give.
 */
function carriedTargets(runs: SingleRun[], latency: LatencyResult | undefined, recompute: RecomputeResult, rate: number): Target[] {
  const targets: Target[] = [];
  if (runs.length === 0) {
    targets.push({ name: 'e2e throughput ≥ 10,000 ev/s', value: 'n/a', met: null, reason: 'no single-replica saturation run (add 1 to --replicas)' });
    targets.push({ name: 'worker peak RSS < 300 MB', value: 'n/a', met: null, reason: 'no single-replica saturation run' });
  } else {
    const m = medianOf(runs, (r) => r.eventsPerSec);
    const all = runs.map((r) => fmt(r.eventsPerSec)).join(', ');
    const why: string[] = [];
    if (m.stalled) why.push('the run stalled');
    if (m.machineBusy !== undefined && m.cores) {
      const share = m.machineBusy / m.cores;
      why.push(
        `${share >= 0.9 ? 'CPU-bound: ' : ''}${fmt(m.machineBusy, 2)} of ${fmt(m.cores, 1)} cores busy (worker ${fmt(m.workerCores, 2)}, the rest Postgres, Kafka, bench and others)`,
      );
    }
    if (m.outboxPeak > 0.25 * m.outputs) why.push(`the relay lags the projection: outbox peaked at ${fmt(m.outboxPeak)} of ${fmt(m.outputs)} outputs`);
    why.push(`Postgres ${fmt(m.pgMsPerEvent, 3)} ms of statements per event (${fmt(m.lockShare * 100)}% lock waits)`);
    const met = m.eventsPerSec >= 10_000 && !m.stalled;
    targets.push({ name: 'e2e throughput ≥ 10,000 ev/s', value: `${fmt(m.eventsPerSec)} (median of ${runs.length}: ${all})`, met, reason: met ? '' : why.join('; ') });
    const rss = runs.map((r) => r.peakRssMb).filter((v): v is number => v !== undefined);
    const rssMedian = rss.length ? medianOf(rss, (v) => v) : undefined;
    targets.push({
      name: 'worker peak RSS < 300 MB',
      value: rssMedian === undefined ? 'n/a' : `${fmt(rssMedian, 1)} MB (runs: ${rss.map((v) => fmt(v)).join(', ')})`,
      met: rssMedian === undefined ? null : rssMedian < 300,
      reason:
        rssMedian === undefined
          ? 'not read'
          : rssMedian < 300
            ? ''
            : 'work in flight: kafkajs fetch buffers of every assigned partition plus INGEST_CONCURRENCY slices with their facts and derived rows',
    });
  }
  if (!latency) targets.push({ name: `p99 < 200 ms at ${fmt(rate)} ev/s`, value: 'n/a', met: null, reason: 'skipped (--skip-latency)' });
  else {
    const met = latency.p99 < 200 && !latency.timedOut;
    const behind = latency.offeredSeconds > 0 && latency.outputs > 0 && latency.timedOut;
    targets.push({
      name: `p99 < 200 ms at ${fmt(rate)} ev/s`,
      value: `${fmt(latency.p99)} ms (p50 ${fmt(latency.p50)}, p95 ${fmt(latency.p95)})`,
      met,
      reason: met
        ? ''
        : behind
          ? 'the run stalled'
          : latency.p50 > 1000
            ? `the offered load was above what the pipeline sustained in this run: a backlog grew (p50 ${fmt(latency.p50)} ms)`
            : `p50 is ${fmt(latency.p50)} ms: a fetch cycle, a slice transaction and a relay round (acks=all) per output; the tail is slices waiting for a connection or a lock, or outputs waiting for the relay's next round`,
    });
  }
  targets.push({
    name: '100k recompute < 30 s',
    value: recompute.measured ? `${fmt(recompute.seconds, 1)} s` : 'n/a',
    met: recompute.measured ? (recompute.seconds ?? Infinity) < 30 : null,
    reason: recompute.measured
      ? (recompute.seconds ?? Infinity) < 30
        ? ''
        : 'chunked re-derivation plus republishing every enrollment through the relay'
      : (recompute.reason ?? ''),
  });
  return targets;
}

function printTargets(targets: Target[]): void {
  const mark = (m: boolean | null) => (m === null ? 'not measured' : m ? 'met' : 'NOT MET');
  console.log('\ntargets (single replica, default config):');
  console.log(grid([['target', 'value', 'status', 'reason'], ...targets.map((t) => [t.name, t.value, mark(t.met), t.reason])]));
}

async function replicasMain(o: ReturnType<typeof args>, counts: number[], outDir: string, workload: (n: number) => OutMessage[]): Promise<void> {
  if (!existsSync(JOBS_WORKER)) throw new Error('--replicas needs the jobs worker (dist/apps/jobs-worker/src/main.js): run npm run build');
  const all = workload(o.events);
  const rows: { replicas: number; runs: ReplicaResult[]; median: ReplicaResult; latency?: LatencyResult }[] = [];
  for (const n of counts) {
    const runs: ReplicaResult[] = [];
    for (let k = 0; k < o.runs; k++) runs.push(await replicaRun(n, all, outDir, { sync: SYNC_WORKER, jobs: JOBS_WORKER }, log));
    const latency = o.skipLatency ? undefined : await latencyRun(workload(Math.round(o.rate * o.latencySeconds)), o.rate, outDir, n);
    rows.push({ replicas: n, runs, median: medianOf(runs, (r) => r.eventsPerSec), latency });
  }
  const recompute = o.skipRecompute ? { measured: false, reason: 'skipped (--skip-recompute)' } : await recomputeRun(o.recomputeEnrollments, outDir);
  const single = rows.find((r) => r.replicas === 1);
  const targets = carriedTargets(
    (single?.runs ?? []).map((r) => {
      const w = r.processes[0];
      return {
        eventsPerSec: r.eventsPerSec,
        stalled: r.stalled,
        peakRssMb: w.peakRssMb,
        outputs: r.outputs,
        machineBusy: r.machine.busyCores,
        cores: r.machine.cores,
        workerCores: w.cores,
        pgMsPerEvent: r.postgres.activeMsPerEvent,
        lockShare: r.postgres.activeSeconds > 0 ? r.postgres.lockSeconds / r.postgres.activeSeconds : 0,
        outboxPeak: r.outboxPeak,
      };
    }),
    single?.latency,
    recompute,
    o.rate,
  );
  const mach = machine(await pgVersion());
  const strip = (r: ReplicaResult) => ({ ...r, done: undefined, series: perSecond(r.done.samples) });
  writeFileSync(
    join(outDir, 'results.json'),
    JSON.stringify(
      {
        timestamp: new Date().toISOString(),
        options: o,
        workerEnv: extraWorkerEnv,
        machine: mach,
        replicas: rows.map((r) => ({
          replicas: r.replicas,
          median: strip(r.median),
          runs: r.runs.map(strip),
          latency: r.latency && { ...r.latency, latencies: undefined, peakRssMb: mb(r.latency.peakRssBytes) },
        })),
        recompute,
        targets,
      },
      null,
      2,
    ),
  );
  const spread = (xs: number[]) => (xs.length ? `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}` : 'n/a');
  console.log('');
  console.log(`machine: ${mach.cores} cores (${mach.cpu}), ${mach.ramGiB} GiB RAM, Node ${mach.node}, Kafka ${mach.kafka}, Postgres ${mach.postgres}`);
  console.log(`${fmt(o.events)} events per run, median of ${o.runs} run(s) per replica count; latency at ${fmt(o.rate)} ev/s for ${o.latencySeconds} s`);
  console.log(
    grid([
      [
        'replicas',
        'events/s',
        'runs',
        'p50/p99 ms',
        'sync CPU s (cores)',
        'jobs CPU s',
        'machine busy',
        'Postgres procs (visible)',
        'peak RSS MB',
        'relay outputs/s by process',
        'outputs/s per partition',
        'outputs/s per slot',
        'PG ms/event',
        'PG relay %',
        'outbox peak',
      ],
      ...rows.map(({ replicas, runs, median: r, latency }) => {
        const sync = r.processes.slice(0, replicas);
        const jobs = r.processes[replicas];
        const byPartition = Object.values(r.outputsPerSecByPartition);
        const bySlot = r.outputsPerSecBySlot ? Object.values(r.outputsPerSecBySlot) : [];
        return [
          String(replicas),
          fmt(r.eventsPerSec),
          runs.map((x) => fmt(x.eventsPerSec)).join(', '),
          latency ? `${fmt(latency.p50)} / ${fmt(latency.p99)}` : 'n/a',
          `${sync.map((p) => fmt(p.cpuSeconds, 1)).join(' + ')} (${fmt(
            sync.reduce((a, p) => a + p.cores, 0),
            2,
          )})`,
          fmt(jobs?.cpuSeconds, 1),
          `${fmt(r.machine.busyCores, 2)} / ${fmt(r.machine.cores, 1)}`,
          fmt(r.machine.postgresCores, 2),
          sync.map((p) => fmt(p.peakRssMb)).join(', '),
          sync.map((p) => fmt((p.outputs ?? 0) / r.outputSeconds)).join(', '),
          `${fmt(byPartition.reduce((a, v) => a + v, 0) / Math.max(1, byPartition.length))} (${spread(byPartition)})`,
          bySlot.length ? `${fmt(bySlot.reduce((a, v) => a + v, 0) / bySlot.length)} (${spread(bySlot)})` : 'no slot metric',
          fmt(r.postgres.activeMsPerEvent, 3),
          fmt(r.postgres.relayShare * 100),
          fmt(r.outboxPeak),
        ];
      }),
    ]),
  );
  printTargets(targets);
  console.log(`\nwrote ${join(outDir, 'results.json')}`);
}

async function pgVersion(): Promise<string> {
  const { Client } = await import('pg');
  const c = new Client(pgConnection(isolatedRun().config.database));
  await c.connect();
  try {
    return (await c.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version.split(' ')[0];
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const o = args();
  const ts = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = resolve('bench-results', ts);
  mkdirSync(outDir, { recursive: true });
  log(`results in ${outDir}`);
  if (o.recomputeOnly) {
    const recompute = await recomputeRun(o.recomputeEnrollments, outDir);
    writeFileSync(join(outDir, 'results.json'), JSON.stringify({ timestamp: new Date().toISOString(), options: o, machine: machine('n/a'), recompute }, null, 2));
    console.log(
      recompute.measured
        ? `recompute: ${fmt(recompute.republished)} republished in ${fmt(recompute.seconds, 1)} s (target < 30 s: ${(recompute.seconds ?? Infinity) < 30 ? 'met' : 'NOT MET'})`
        : `recompute: not measured (${recompute.reason})`,
    );
    return;
  }
  const template = isolatedRun().config; // only to build messages; rebound per run
  const workload = (n: number) => toKafka(template, syntheticWorkload({ events: n, courses: o.courses, users: o.users, seed: 42 }));
  if (o.replicas) return replicasMain(o, o.replicas, outDir, workload);

  // 1 + 3a + 5: saturation (o.runs times), then, after the first, raw consumption of the same topics with the worker stopped.
  const all = workload(o.events);
  let raw: Awaited<ReturnType<typeof rawConsume>> | undefined;
  const e2eRuns: PipelineResult[] = [];
  for (let k = 0; k < o.runs; k++) {
    e2eRuns.push(
      await saturationRun(
        o.runs > 1 ? `e2e-${k + 1}` : 'e2e',
        all,
        outDir,
        {},
        {
          profile: o.profile && k === 0,
          keep:
            k > 0
              ? undefined
              : async (res) => {
                  log('raw consumption: new group, same topics, no-op eachBatch');
                  raw = await rawConsume(res, o.events);
                  log(`raw consumption: ${fmt(raw.perSec)} msgs/s (${raw.messages} in ${fmt(raw.ms / 1000, 2)} s)`);
                },
        },
      ),
    );
  }
  const e2e = medianOf(e2eRuns, (r) => r.eventsPerSec);

  // 3b: raw Postgres insert rate.
  log('raw Postgres insert: unnest, 1000-row batches, one connection');
  const pg = await rawPgInsert(template.database, Math.max(100_000, o.events));
  log(`raw Postgres insert: ${fmt(pg.perSec)} rows/s`);
  const version = await pgVersion();

  // 2: latency at fixed offered load.
  const latency = o.skipLatency ? undefined : await latencyRun(workload(Math.round(o.rate * o.latencySeconds)), o.rate, outDir);

  // 4: naive baseline.
  const naive = o.skipNaive ? undefined : await saturationRun('naive', workload(o.naiveEvents), outDir, { INGEST_SLICE_SIZE: '1' });

  // 4b: what a NestJS team builds from the docs (bench/stock-nest): same workload, rules and concurrency.
  const stockNest = o.skipStockNest ? undefined : await saturationRun('stock-nest', workload(o.stockNestEvents), outDir, {}, { script: STOCK_NEST_WORKER });

  // 6: recompute fan-out.
  const recompute = o.skipRecompute ? { measured: false, reason: 'skipped (--skip-recompute)' } : await recomputeRun(o.recomputeEnrollments, outDir);

  const profile = o.profile ? summariseCpuProfile(outDir) : undefined;
  const mach = machine(version);
  const ratioNaive = naive ? e2e.eventsPerSec / naive.eventsPerSec : undefined;
  const ratioStockNest = stockNest ? e2e.eventsPerSec / stockNest.eventsPerSec : undefined;
  const shareOfRaw = raw ? e2e.eventsPerSec / raw.perSec : undefined;
  const rssMb = mb(e2e.peakRssBytes);
  const targets: Target[] = [
    ...carriedTargets(
      e2eRuns.map((r) => ({
        eventsPerSec: r.eventsPerSec,
        stalled: r.done.timedOut,
        peakRssMb: mb(r.peakRssBytes),
        outputs: r.done.outputs,
        machineBusy: r.cpu?.machineBusy,
        cores: r.cpu?.cores,
        workerCores: r.cpu?.worker,
        pgMsPerEvent: r.postgres.activeMsPerEvent,
        lockShare: r.postgres.activeSeconds > 0 ? r.postgres.lockSeconds / r.postgres.activeSeconds : 0,
        outboxPeak: r.outboxPeak,
      })),
      latency,
      recompute,
      o.rate,
    ),
    {
      name: '≥ 20× naive (INGEST_SLICE_SIZE=1)',
      value: ratioNaive === undefined ? 'n/a' : `${fmt(ratioNaive, 1)}×`,
      met: ratioNaive === undefined ? null : ratioNaive >= 20,
      reason: ratioNaive === undefined ? 'skipped (--skip-naive)' : '',
    },
    {
      name: '≥ 50% of raw consumption',
      value: shareOfRaw === undefined ? 'n/a' : `${fmt(shareOfRaw * 100, 1)}%`,
      met: shareOfRaw === undefined ? null : shareOfRaw >= 0.5,
      reason: shareOfRaw === undefined || shareOfRaw >= 0.5 ? '' : 'raw consumption does no work per message; the pipeline writes Postgres for each',
    },
  ];

  const series = perSecond(e2e.done.samples);
  const results = {
    timestamp: new Date().toISOString(),
    options: o,
    workerEnv: extraWorkerEnv,
    machine: mach,
    e2e: {
      runId: e2e.runId,
      cpuCores: e2e.cpu,
      events: e2e.events,
      outputs: e2e.done.outputs,
      seconds: e2e.done.durationMs / 1000,
      eventsPerSec: e2e.eventsPerSec,
      stalled: e2e.done.timedOut,
      peakRssMb: rssMb,
      postgres: e2e.postgres,
      outboxPeak: e2e.outboxPeak,
      series,
    },
    e2eRuns: e2eRuns.map((r) => ({
      runId: r.runId,
      eventsPerSec: r.eventsPerSec,
      seconds: r.done.durationMs / 1000,
      outputs: r.done.outputs,
      stalled: r.done.timedOut,
      peakRssMb: mb(r.peakRssBytes),
      cpuCores: r.cpu,
      postgres: r.postgres,
      outboxPeak: r.outboxPeak,
    })),
    rawConsumption: raw,
    rawPostgresInsert: pg,
    latency: latency && { ...latency, latencies: undefined, peakRssMb: mb(latency.peakRssBytes) },
    naive: naive && {
      cpuCores: naive.cpu,
      events: naive.events,
      outputs: naive.done.outputs,
      seconds: naive.done.durationMs / 1000,
      eventsPerSec: naive.eventsPerSec,
      stalled: naive.done.timedOut,
      peakRssMb: mb(naive.peakRssBytes),
    },
    ratioToNaive: ratioNaive,
    stockNest: stockNest && {
      cpuCores: stockNest.cpu,
      events: stockNest.events,
      outputs: stockNest.done.outputs,
      seconds: stockNest.done.durationMs / 1000,
      eventsPerSec: stockNest.eventsPerSec,
      stalled: stockNest.done.timedOut,
      peakRssMb: mb(stockNest.peakRssBytes),
    },
    ratioToStockNest: ratioStockNest,
    shareOfRawConsumption: shareOfRaw,
    recompute,
    cpuProfile: profile,
    targets,
  };
  writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 2));
  writeFileSync(
    join(outDir, 'chart.svg'),
    chartSvg(
      series,
      latency?.latencies ?? [],
      { p50: latency?.p50 ?? NaN, p95: latency?.p95 ?? NaN, p99: latency?.p99 ?? NaN },
      `${fmt(o.events)} events, ${o.courses} courses, ${fmt(o.users)} users`,
    ),
  );

  console.log('');
  console.log(`machine: ${mach.cores} cores (${mach.cpu}), ${mach.ramGiB} GiB RAM, Node ${mach.node}, Kafka ${mach.kafka}, Postgres ${mach.postgres}`);
  console.log(
    table([
      ['measurement', 'value'],
      [
        'e2e throughput (events/s)',
        fmt(e2e.eventsPerSec),
        `median of ${e2eRuns.length} (${e2eRuns.map((r) => fmt(r.eventsPerSec)).join(', ')}); ${fmt(e2e.events)} events → ${fmt(e2e.done.outputs)} outputs in ${fmt(e2e.done.durationMs / 1000, 1)} s${e2e.done.timedOut ? ' STALLED' : ''}`,
      ],
      ['raw consumption (msgs/s)', fmt(raw?.perSec), shareOfRaw === undefined ? '' : `e2e = ${fmt(shareOfRaw * 100, 1)}% of raw`],
      ['raw Postgres insert (rows/s)', fmt(pg.perSec), 'unnest, 1000-row batches, 1 connection'],
      [
        'naive throughput (events/s)',
        fmt(naive?.eventsPerSec),
        naive ? `${fmt(naive.events)} events, INGEST_SLICE_SIZE=1; batched = ${fmt(ratioNaive, 1)}× naive` : 'skipped',
      ],
      [
        'stock-Nest throughput (events/s)',
        fmt(stockNest?.eventsPerSec),
        stockNest
          ? `${fmt(stockNest.events)} events, Transport.KAFKA, 1 transaction per message${stockNest.done.timedOut ? ' STALLED' : ''}; batched = ${fmt(ratioStockNest, 1)}× stock Nest`
          : 'skipped',
      ],
      [
        `latency p50 / p95 / p99 (ms)`,
        latency ? `${fmt(latency.p50)} / ${fmt(latency.p95)} / ${fmt(latency.p99)}` : 'n/a',
        latency ? `${o.rate} ev/s for ${o.latencySeconds} s; ${latency.matched} of ${latency.offered} inputs produced an output` : 'skipped',
      ],
      [
        'e2e CPU (cores busy)',
        fmt(e2e.cpu?.machineBusy, 2),
        `of ${fmt(e2e.cpu?.cores, 1)}: worker ${fmt(e2e.cpu?.worker, 2)}, bench process ${fmt(e2e.cpu?.bench, 2)}, rest (Postgres, Kafka) ${fmt((e2e.cpu?.machineBusy ?? 0) - (e2e.cpu?.worker ?? 0) - (e2e.cpu?.bench ?? 0), 2)}`,
      ],
      [
        'e2e Postgres (ms per event)',
        fmt(e2e.postgres.activeMsPerEvent, 3),
        `statement time of the run's sessions, sampled every 100 ms; lock waits ${fmt(e2e.postgres.lockSeconds, 1)} s, relay ${fmt(e2e.postgres.relaySeconds, 1)} s of ${fmt(e2e.postgres.activeSeconds, 1)} s`,
      ],
      ['e2e outbox peak (rows)', fmt(e2e.outboxPeak), 'written, not yet published: the relay behind the projection'],
      ['worker peak RSS (MB)', fmt(rssMb, 1), 'VmHWM of the e2e worker'],
      [
        '100k recompute (s)',
        recompute.measured ? fmt(recompute.seconds, 1) : 'n/a',
        recompute.measured ? `${fmt(recompute.republished)} republished` : `not measured (${recompute.reason})`,
      ],
    ]),
  );
  printTargets(targets);
  if (profile) {
    console.log(`\ntop self time in the e2e worker (${profile.file}, ${fmt(profile.totalMs)} ms sampled):`);
    console.log(table(profile.top.map((t) => [`${t.fn} ${t.where}`, `${fmt(t.ms)} ms`, `${t.pct}%`])));
  }
  console.log(`\nwrote ${join(outDir, 'results.json')} and ${join(outDir, 'chart.svg')}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
