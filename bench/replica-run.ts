/**
 * One saturation run with N sync workers in one consumer group (and one jobs worker): the
 * figures of `--replicas` (see docs/scaling.md). CPU per process, Postgres time per event,
 * outputs per relay process and per output partition.
 */
import { join } from 'node:path';
import { isolatedRun } from './env';
import { RunResources, WorkerChild, machineCpu, processCpuByName, sleep } from './infra';
import { DoneResult, OutMessage, OutputWatcher, produceAll, rebind, waitDone } from './pipeline';
import { PostgresSampler, PostgresTime } from './postgres-sampler';
import { freePort, outputsBySlot, outputsPublished, scrapeMetrics } from './worker-metrics';

export interface ProcessFigures {
  name: string;
  /** CPU seconds used during the run */
  cpuSeconds: number;
  /** CPU seconds / wall seconds */
  cores: number;
  peakRssMb?: number;
  /** output events this process's relay published (sync workers) */
  outputs?: number;
}

export interface ReplicaResult {
  replicas: number;
  runId: string;
  events: number;
  outputs: number;
  seconds: number;
  eventsPerSec: number;
  stalled: boolean;
  processes: ProcessFigures[];
  /** CPU of the machine during the run, in cores; Postgres processes seen in /proc (all databases) */
  machine: { busyCores: number; cores: number; postgresCores?: number };
  postgres: PostgresTime & { activeMsPerEvent: number; relayShare: number };
  /** seconds from the first to the last output: the relay's publishing window */
  outputSeconds: number;
  /** output partition → outputs per second over the publishing window */
  outputsPerSecByPartition: Record<string, number>;
  /** relay slot → outputs per second, from the relay's per-slot counter (absent before slots) */
  outputsPerSecBySlot?: Record<string, number>;
  /** the most rows the outbox held at a once-a-second sample */
  outboxPeak: number;
  done: DoneResult;
}

const mb = (b?: number) => (b === undefined ? undefined : b / 1024 / 1024);

/** Waits until the group is stable with exactly `members` members (all replicas assigned). */
export async function waitMembers(res: RunResources, groupId: string, members: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { groups } = await res.admin.describeGroups([groupId]);
    if (groups[0]?.state === 'Stable' && groups[0].members.length === members) return;
    await sleep(250);
  }
  throw new Error(`consumer group ${groupId} did not become stable with ${members} members within ${timeoutMs} ms`);
}

export async function replicaRun(
  replicas: number,
  msgs: OutMessage[],
  outDir: string,
  scripts: { sync: string; jobs: string },
  log: (msg: string) => void,
): Promise<ReplicaResult> {
  const run = isolatedRun();
  const res = new RunResources(run);
  log(`replicas ${replicas}: run ${run.id}, ${msgs.length} events`);
  await res.setUp();
  const watcher = new OutputWatcher(res, false);
  const workers: { name: string; child: WorkerChild; port: number }[] = [];
  const sampler = new PostgresSampler(run.config.database);
  try {
    const rebound = rebind(msgs, run.config.topics);
    await watcher.start();
    for (let i = 1; i <= replicas; i++) {
      const port = await freePort();
      const child = new WorkerChild(scripts.sync, { ...run.env, SYNC_WORKER_METRICS_PORT: String(port) }, { logFile: join(outDir, `worker-r${replicas}-${i}.log`) });
      workers.push({ name: `sync-worker ${i}`, child, port });
    }
    const jobsPort = await freePort();
    workers.push({
      name: 'jobs-worker',
      child: new WorkerChild(scripts.jobs, { ...run.env, JOBS_WORKER_METRICS_PORT: String(jobsPort) }, { logFile: join(outDir, `jobs-worker-r${replicas}.log`) }),
      port: jobsPort,
    });
    await waitMembers(res, run.config.kafka.groupId, replicas);
    const syncWorkers = workers.slice(0, replicas);
    const before = await Promise.all(syncWorkers.map(async (w) => outputsPublished((await scrapeMetrics(w.port)) ?? [])));
    const producer = res.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    let producing = true;
    const cpu0 = { procs: workers.map((w) => w.child.cpuSeconds() ?? 0), machine: machineCpu(), pg: processCpuByName(['postgres']).postgres };
    await sampler.start();
    const startedAt = performance.now();
    const produced = produceAll(producer, rebound).finally(() => (producing = false));
    const [done] = await Promise.all([waitDone(res, watcher, startedAt, { producing: () => producing }), produced]);
    const wall = (performance.now() - startedAt) / 1000;
    const pgTime = await sampler.stop();
    await producer.disconnect();
    const m1 = machineCpu();
    const pg1 = processCpuByName(['postgres']).postgres;
    const metrics = await Promise.all(syncWorkers.map((w) => scrapeMetrics(w.port)));
    const processes: ProcessFigures[] = workers.map((w, i) => {
      const cpuSeconds = (w.child.cpuSeconds() ?? 0) - cpu0.procs[i];
      const m = i < replicas ? metrics[i] : undefined;
      return {
        name: w.name,
        cpuSeconds,
        cores: cpuSeconds / wall,
        peakRssMb: mb(w.child.peakRss()),
        outputs: m ? outputsPublished(m) - before[i] : undefined,
      };
    });
    const outputSeconds = Math.max(0.001, (watcher.lastAt - watcher.firstAt) / 1000);
    const outputsPerSecByPartition = Object.fromEntries([...watcher.perPartition].sort(([a], [b]) => a - b).map(([p, n]) => [String(p), n / outputSeconds]));
    const slots = new Map<string, number>();
    for (const m of metrics) for (const [slot, n] of outputsBySlot(m ?? [])) slots.set(slot, (slots.get(slot) ?? 0) + n);
    const eventsPerSec = msgs.length / (done.durationMs / 1000);
    const result: ReplicaResult = {
      replicas,
      runId: run.id,
      events: msgs.length,
      outputs: done.outputs,
      seconds: done.durationMs / 1000,
      eventsPerSec,
      stalled: done.timedOut,
      processes,
      machine: {
        busyCores: (m1.busy - cpu0.machine.busy) / wall,
        cores: (m1.total - cpu0.machine.total) / wall,
        postgresCores: pg1 > 0 ? (pg1 - cpu0.pg) / wall : undefined,
      },
      postgres: {
        ...pgTime,
        activeMsPerEvent: (pgTime.activeSeconds * 1000) / msgs.length,
        relayShare: pgTime.activeSeconds > 0 ? pgTime.relaySeconds / pgTime.activeSeconds : 0,
      },
      outputSeconds,
      outputsPerSecByPartition,
      outputsPerSecBySlot: slots.size ? Object.fromEntries([...slots].map(([s, n]) => [s, n / outputSeconds])) : undefined,
      outboxPeak: Math.max(0, ...done.samples.map((s) => s.outbox ?? 0)),
      done,
    };
    log(
      `replicas ${replicas}: ${Math.round(eventsPerSec)} events/s, ${done.outputs} outputs in ${result.seconds.toFixed(1)} s${done.timedOut ? ' (STALLED)' : ''}; ` +
        `Postgres ${result.postgres.activeMsPerEvent.toFixed(3)} ms/event (relay ${(result.postgres.relayShare * 100).toFixed(0)}%), outbox peak ${result.outboxPeak}`,
    );
    return result;
  } finally {
    await sampler.stop().catch(() => undefined);
    await Promise.all(workers.map((w) => w.child.stop()));
    await watcher.stop();
    await res.tearDown();
  }
}
