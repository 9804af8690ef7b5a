import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { inputTopics } from '@app/config';
import { createDataSource, migrateUp } from '@app/persistence';
import { createKafka, topicSpecs } from '@app/messaging';
import type { IsolatedRun } from './env';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The shared resources of one isolated run: topics created, schema migrated. */
export class RunResources {
  readonly kafka: Kafka;
  readonly admin: Admin;
  ds!: DataSource;

  constructor(readonly run: IsolatedRun) {
    this.kafka = createKafka(run.config, undefined, '-bench');
    this.admin = this.kafka.admin();
  }

  async setUp(): Promise<void> {
    await this.admin.connect();
    await this.createTopics();
    this.ds = createDataSource({ ...this.run.config.database, poolSize: 3 }, { applicationName: 'bench' });
    await this.ds.initialize();
    await migrateUp(this.ds, this.run.config.database.schema);
  }

  /**
   * Creates the run's topics and waits for their leaders. On a loaded broker kafkajs' own wait
   * can give up (UNKNOWN_TOPIC_OR_PARTITION, retriable) while the topics are still being set up:
   * then the metadata is polled until every partition has a leader.
   */
  private async createTopics(timeoutMs = 60_000): Promise<void> {
    const specs = topicSpecs(this.run.config);
    try {
      await this.admin.createTopics({ topics: specs, waitForLeaders: true });
      return;
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable) throw err;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const { topics } = await this.admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
        if (topics.length === specs.length && topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      } catch (err) {
        if (!(err as { retriable?: boolean }).retriable || Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`topics of run ${this.run.id} have no leaders after ${timeoutMs} ms`);
      await sleep(500);
    }
  }

  async tearDown(): Promise<void> {
    try {
      if (this.ds?.isInitialized) {
        await this.ds.query(`DROP SCHEMA IF EXISTS "${this.run.config.database.schema}" CASCADE`);
        await this.ds.destroy();
      }
    } catch (err) {
      console.error(`teardown: dropping schema failed: ${(err as Error).message}`);
    }
    try {
      await this.admin.deleteTopics({ topics: topicSpecs(this.run.config).map((s) => s.topic) });
    } catch (err) {
      console.error(`teardown: deleting topics failed: ${(err as Error).message}`);
    }
    await this.admin.disconnect().catch(() => undefined);
  }

  /** Sum of the high watermarks of the input topics. */
  async inputHighWatermark(): Promise<number> {
    let sum = 0;
    for (const topic of inputTopics(this.run.config)) {
      for (const p of await this.admin.fetchTopicOffsets(topic)) sum += Number(p.high);
    }
    return sum;
  }

  /** Sum of a group's committed offsets on the input topics (no commit = 0). */
  async committed(groupId = this.run.config.kafka.groupId): Promise<number> {
    const res = await this.admin.fetchOffsets({ groupId, topics: inputTopics(this.run.config) });
    let sum = 0;
    for (const t of res) for (const p of t.partitions) sum += Math.max(0, Number(p.offset));
    return sum;
  }

  async outboxSize(): Promise<number> {
    const rows = await this.ds.query('SELECT count(*)::int AS n FROM outbox');
    return rows[0].n;
  }

  /** Recompute requests still owed (generation not yet completed, where the schema tracks it). */
  async pendingRecomputes(): Promise<number> {
    const [{ tracked }] = await this.ds.query(
      `SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
         AND table_name = 'recompute_requests' AND column_name = 'completed_generation') AS tracked`,
    );
    const rows = await this.ds.query(`SELECT count(*)::int AS n FROM recompute_requests${tracked ? ' WHERE generation > completed_generation' : ''}`);
    return rows[0].n;
  }

  async waitGroupStable(groupId: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { groups } = await this.admin.describeGroups([groupId]);
      if (groups[0]?.state === 'Stable' && groups[0].members.length > 0) return;
      await sleep(250);
    }
    throw new Error(`consumer group ${groupId} did not become stable within ${timeoutMs} ms`);
  }
}

export interface ChildOptions {
  logFile: string;
  cpuProfDir?: string;
}

/** A worker app running as a child process with the run's environment. */
export class WorkerChild {
  readonly proc: ChildProcess;
  exited = false;
  exitCode: number | null = null;
  private readonly exitPromise: Promise<void>;

  constructor(script: string, env: Record<string, string>, opts: ChildOptions) {
    const args: string[] = [];
    if (opts.cpuProfDir) {
      args.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`, '-r', join(__dirname, 'resignal-exit.js'));
    }
    args.push(script);
    const log = createWriteStream(opts.logFile);
    this.proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.pipe(log);
    this.proc.stderr!.pipe(log);
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code) => {
        this.exited = true;
        this.exitCode = code;
        resolve();
      });
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Peak resident set size (VmHWM) in bytes, from /proc. */
  peakRss(): number | undefined {
    const status = `/proc/${this.pid}/status`;
    if (this.exited || !existsSync(status)) return undefined;
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(status, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  }

  /** CPU seconds (user + system) the child has used so far, from /proc/<pid>/stat. */
  cpuSeconds(): number | undefined {
    const stat = `/proc/${this.pid}/stat`;
    if (this.exited || !existsSync(stat)) return undefined;
    const fields = readFileSync(stat, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ=100)
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.exited) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await this.exitPromise;
    clearTimeout(timer);
  }

  async waitExit(ms: number): Promise<boolean> {
    await Promise.race([this.exitPromise, sleep(ms)]);
    return this.exited;
  }
}

/** Machine-wide busy and total CPU seconds from /proc/stat (all cores). */
export function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0) / 100;
  const idle = (f[3] + f[4]) / 100;
  return { busy: total - idle, total };
}

/**
 * CPU seconds (user + system) used so far by every process whose command name is one of
 * `names` (e.g. postgres, java), from /proc/<pid>/stat, summed per name. Processes that start
 * or end between two readings make a difference of two readings approximate.
 */
export function processCpuByName(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    const comm = /\((.*)\)/.exec(stat)?.[1] ?? '';
    if (!(comm in out)) continue;
    const fields = stat.replace(/^.*\) /, '').split(' ');
    out[comm] += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return out;
}
