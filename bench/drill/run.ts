/**
 * Fault drill (docs/drills.md): under a steady load, kill -9 the workers, restart the Kafka
 * broker, restart PostgreSQL and stop Redis; with replicas, also kill them one at a time, two at
 * once and the relay's slot owner mid-publish, and let a new one join. After each fault, wait
 * until the pipeline is quiet and check that nothing was lost. Prints a table of faults and
 * checks; exits 1 on any loss or mismatch, 2 when the drill itself could not run.
 *
 *   npm run drill [-- --rate 1000] [--phase-seconds 20] [--kills 3] [--redis-down-seconds 30]
 *     [--faults kill,kafka,postgres,redis] [--seed N] [--quiet-timeout-seconds 300]
 *     [--replicas N] [--jobs-replicas M] [--slot-takeover-ms MS]
 *
 * It runs in its own namespace (topics, schema, groups, queue prefix) like the benchmark, with
 * the sync workers and the jobs workers as child processes, restarted like a supervisor would.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ownerPid } from '@app/workload';
import { isolatedRun } from '../env';
import { RunResources, sleep } from '../infra';
import { Check, verify } from './checks';
import { FaultError, restartKafka, restartPostgres, startRedis, stopRedis } from './faults';
import { LoadProducer } from './load';
import { relayLockHolder, SlotSampler, slotOwners, slotTableExists, slotTakeoverMs } from './relay-ownership';
import { Replicas, Role } from './replicas';

const SYNC_WORKER = resolve(__dirname, '../../apps/sync-worker/src/main.js');
const JOBS_WORKER = resolve(__dirname, '../../apps/jobs-worker/src/main.js');
const SERVICE_FAULTS = ['kill', 'kafka', 'postgres', 'redis'] as const;
const REPLICA_FAULTS = ['replica-kill', 'join', 'double-kill', 'slot-owner-kill'] as const;
const FAULTS = [...SERVICE_FAULTS, ...REPLICA_FAULTS] as const;
type FaultName = (typeof FAULTS)[number];
/**
 * Added to the slot check's bound: a sample is stamped with its statement's `now()` but reads
 * the table in a snapshot taken a moment later, and on a loaded machine that moment can grow.
 */
const SLOT_GAP_MARGIN_MS = 100;
const SLOT_SAMPLE_MS = 250;

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
  const replicas = Math.floor(num('replicas', 1));
  const jobsReplicas = Math.floor(num('jobs-replicas', replicas > 1 ? 2 : 1));
  const defaults: readonly string[] = replicas > 1 ? FAULTS : SERVICE_FAULTS;
  const faults = (value('faults') ?? defaults.join(',')).split(',').map((f) => f.trim());
  for (const f of faults) if (!FAULTS.includes(f as FaultName)) throw new Error(`--faults: unknown fault "${f}" (known: ${FAULTS.join(', ')})`);
  if (faults.includes('double-kill') && replicas < 2) throw new Error('--faults double-kill needs --replicas 2 or more');
  const takeover = value('slot-takeover-ms');
  return {
    replicas,
    jobsReplicas,
    slotTakeoverMs: takeover === undefined ? undefined : String(Math.floor(num('slot-takeover-ms', 0))),
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
  const run = isolatedRun({
    LOG_LEVEL: 'info',
    KAFKA_SESSION_TIMEOUT_MS: '8000',
    OUTBOX_POLL_MS: '200',
    ...(opts.slotTakeoverMs === undefined ? {} : { SLOT_TAKEOVER_MS: opts.slotTakeoverMs }),
  });
  const res = new RunResources(run);
  const touchesServices = opts.faults.some((f) => f === 'kafka' || f === 'postgres' || f === 'redis');
  console.log(
    `Fault drill ${run.id}: ${opts.rate} events/s, ${opts.phaseSeconds} s of load per fault, faults ${opts.faults.join(', ')}, seed ${opts.seed}, ` +
      `${opts.replicas} sync and ${opts.jobsReplicas} jobs worker(s).\n` +
      (touchesServices ? `It restarts the Kafka broker, PostgreSQL and Redis of this machine: anything else using them sees the outage.\n` : '') +
      `Logs: ${outDir}`,
  );
  await res.setUp();
  const load = new LoadProducer(res.kafka, run.config, opts);
  const workers = new Replicas({ sync: SYNC_WORKER, jobs: JOBS_WORKER }, run.env, outDir, log);
  const sampler = new SlotSampler(res.ds, SLOT_SAMPLE_MS);
  const takeoverMs = slotTakeoverMs(run.env);
  const results: PhaseResult[] = [];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)];
  const backoff = () => Math.round(Math.random() * 2000);
  const at = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
  try {
    await load.connect();
    for (let i = 0; i < opts.replicas; i++) workers.add('sync');
    for (let i = 0; i < opts.jobsReplicas; i++) workers.add('jobs');
    await waitMembers(res, run.config.kafka.groupId, opts.replicas);
    sampler.start();

    /** kill -9 one replica per step at the planned moments (ms into the fault), each restarted after 0–2 s. */
    const killSeries = async (plan: { role: Role; at: number }[]): Promise<string> => {
      const t0 = performance.now();
      const done: string[] = [];
      for (const step of plan.sort((a, b) => a.at - b.at)) {
        await sleep(Math.max(0, step.at - (performance.now() - t0)));
        const seat = pick(workers.seatsOf(step.role));
        const who = opts.replicas > 1 || opts.jobsReplicas > 1 ? workers.describe(seat) : step.role;
        await workers.kill9([seat], backoff());
        done.push(`${who}@${at(t0)}`);
      }
      return `killed ${done.join(', ')} (restarted after 0–2 s)`;
    };
    const window = opts.phaseSeconds * 1000 * 0.6;

    const faultFns: Record<FaultName, { label: string; before?: () => Promise<string>; inject: () => Promise<string> }> = {
      kill: {
        label: `kill -9 workers ×${opts.kills + 1}`,
        // The sync worker `kills` times, the jobs worker once, at random moments of the load.
        inject: () => killSeries([...Array.from({ length: opts.kills }, () => 'sync' as const), 'jobs' as const].map((role) => ({ role, at: Math.random() * window }))),
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
      'replica-kill': {
        label: `kill -9 each replica in turn ×${opts.replicas + opts.jobsReplicas}`,
        // One at a time, evenly over the window: each replica is back before the next one dies.
        inject: async () => {
          const seats = [...workers.seatsOf('sync'), ...workers.seatsOf('jobs')];
          const t0 = performance.now();
          const done: string[] = [];
          for (const [i, seat] of seats.entries()) {
            await sleep(Math.max(0, (i * window) / seats.length - (performance.now() - t0)));
            const who = workers.describe(seat);
            await workers.kill9([seat], backoff());
            done.push(`${who}@${at(t0)}`);
          }
          return `killed ${done.join(', ')} (each restarted after 0–2 s)`;
        },
      },
      join: {
        label: 'a new sync replica joins',
        // A scale-down first (with the load off), so that the join brings the count back to N.
        before: async () => {
          const seats = workers.seatsOf('sync');
          if (seats.length < 2) return '';
          const who = workers.describe(seats[0]);
          await workers.leave(seats[0]);
          await waitMembers(res, run.config.kafka.groupId, seats.length - 1);
          return `${who} left (SIGTERM) before the load`;
        },
        inject: async () => {
          const seat = workers.add('sync');
          return `${workers.describe(seat)} joined mid-load; ${workers.seatsOf('sync').length} sync replicas`;
        },
      },
      'double-kill': {
        label: 'kill -9 two sync replicas at once',
        inject: async () => {
          const seats = [...workers.seatsOf('sync')].sort(() => Math.random() - 0.5).slice(0, 2);
          const who = seats.map((s) => workers.describe(s));
          await workers.kill9(seats, backoff());
          return `killed ${who.join(' and ')} together (restarted after 0–2 s)`;
        },
      },
      'slot-owner-kill': {
        label: 'kill -9 the relay slot owner mid-publish',
        inject: async () => {
          const victim = await relayOwnerWhilePublishing(res, workers);
          await workers.kill9([victim.seat], backoff());
          return `killed ${victim.who} (restarted after 0–2 s)`;
        },
      },
    };

    const t0 = performance.now();
    for (const name of opts.faults) {
      const fault = faultFns[name];
      const prepared = fault.before ? await fault.before() : '';
      if (prepared) log(`${fault.label}: ${prepared}`);
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
        detail = [prepared, await fault.inject()].filter(Boolean).join('; ');
      } catch (err) {
        error = err instanceof FaultError ? err.message : ((err as Error).stack ?? String(err));
      }
      const faultOver = performance.now();
      log(`  ${error ? `fault could not be injected: ${error}` : detail}`);
      await sleep(Math.max(0, opts.phaseSeconds * 1000 - (performance.now() - phaseStart)));
      await load.stop();
      const loadOff = performance.now();
      log(
        `  load off (${load.sent.toLocaleString('en-US')} sent so far, ${load.failedSends} failed sends retried${load.lastError ? `, last error: ${load.lastError}` : ''}); waiting until quiet`,
      );
      const quiet = await waitQuiet(res, opts.quietTimeoutSeconds * 1000);
      const settled = quiet.ok ? secs(Math.max(0, quiet.at - loadOff)) : `not quiet after ${opts.quietTimeoutSeconds} s`;
      log(`  ${quiet.ok ? `settled ${settled} after the load stopped` : `NOT QUIET: ${quiet.pending}`}; checking`);
      const checks = await verify(res.kafka, res.ds, run.config, load);
      checks.push(sampler.check(opts.replicas, takeoverMs, SLOT_GAP_MARGIN_MS));
      if (!quiet.ok) checks.unshift({ name: 'quiet', ok: false, summary: 'not quiet', problems: [quiet.pending] });
      for (const c of checks) log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.summary}${c.ok ? '' : `\n        ${c.problems.join('\n        ')}`}`);
      results.push({ fault: fault.label, detail, injectedAt, lasted: secs(faultOver - faultStart), settled, checks, error });
    }
  } finally {
    await sampler.stop();
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

/** Waits until the sync workers' consumer group is stable with `members` members. */
async function waitMembers(res: RunResources, groupId: string, members: number, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let seen = 'not described yet';
  while (performance.now() < deadline) {
    const { groups } = await res.admin.describeGroups([groupId]);
    seen = `${groups[0]?.state ?? 'no group'} with ${groups[0]?.members.length ?? 0} member(s)`;
    if (groups[0]?.state === 'Stable' && groups[0].members.length === members) return;
    await sleep(250);
  }
  throw new Error(`consumer group ${groupId} not stable with ${members} member(s) within ${timeoutMs} ms (last: ${seen})`);
}

/**
 * A sync replica that publishes right now: outputs are flowing (the output topic grew in the
 * last quarter second) and it owns relay slots (the replica owning most), or, before the relay
 * had slots, holds the single relay's lock.
 */
async function relayOwnerWhilePublishing(res: RunResources, workers: Replicas, timeoutMs = 60_000): Promise<{ seat: string; who: string }> {
  const topic = res.run.config.topics.courseEnrollments;
  const outputs = async () => (await res.admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  const deadline = performance.now() + timeoutMs;
  let why = 'not looked yet';
  while (performance.now() < deadline) {
    const before = await outputs();
    await sleep(250);
    const grew = (await outputs()) - before;
    const pids = workers.livePids('sync');
    if (grew <= 0) {
      why = 'no output in the last 250 ms';
      continue;
    }
    if (await slotTableExists(res.ds)) {
      const owners = [...(await slotOwners(res.ds))]
        .map(([owner, slots]) => ({ owner, slots, pid: ownerPid(owner, [...pids.keys()]) }))
        .filter((o) => o.pid !== undefined)
        .sort((a, b) => b.slots.length - a.slots.length);
      if (owners.length > 0) {
        const seat = pids.get(owners[0].pid!)!;
        return { seat, who: `${workers.describe(seat)}, owner ${owners[0].owner} of slots ${owners[0].slots.join(', ')}, while ${grew} events were published in 250 ms` };
      }
      why = 'no slot owned by a replica of this drill';
    } else {
      const pid = await relayLockHolder(res.ds, res.run.config.database.schema, [...pids.keys()]);
      if (pid !== undefined) {
        const seat = pids.get(pid)!;
        return { seat, who: `${workers.describe(seat)}, holder of the relay lock (no slot table: single relay), while ${grew} events were published in 250 ms` };
      }
      why = 'no replica of this drill holds the relay lock';
    }
  }
  throw new FaultError(`found no relay owner publishing within ${timeoutMs / 1000} s: ${why}`);
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
