/**
 * An end-to-end harness for the sync worker on the real Kafka and Postgres, written so tests read
 * as given / when / then:
 *
 *   const p = await startPipeline();              // topics, schema, worker, collectors
 *   await p.produce([events.courseUpserted(...), ...], { shuffle: true, duplicate: 1 });
 *   await p.waitQuiet();                           // everything consumed, published and collected
 *   expect(p.oracle()).toEqual([]);                // last published state == foldFacts(facts)
 *   expect(p.versionsGapless()).toEqual([]);
 *   await p.stop();
 *
 * Every run lives in its own namespace (isolatedConfig): schema, topics, consumer groups.
 *
 * Course-wide recompute (structure change → every enrollment of the course) is the jobs worker's
 * job: by default the harness boots `JobsWorkerModule` in-process beside the sync worker, with
 * the same config override (BullMQ on the real Redis, the run's queue prefix). With
 * `recompute: 'inline'` (or E2E_RECOMPUTE=inline) it runs the library's `CourseRecompute` itself
 * on pending `recompute_requests` instead, without Redis; 'none' leaves the requests alone.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { Admin, CompressionTypes, Consumer, IHeaders, Kafka, Producer } from 'kafkajs';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig, inputTopics } from '@app/config';
import { CourseEnrollmentsEvent, decodeMessage, decodeOutputEvent } from '@app/contracts';
import { DerivedEnrollment, Fact, foldFacts } from '@app/domain';
import { MetricsEndpoint } from '@app/observability';
import { partitionForKey } from '@app/messaging';
import { createDataSource, migrateUp, OutputPartitions, RecomputeRequestRepository } from '@app/persistence';
import { CourseRecompute, createProjection } from '@app/projection';
import { InputMessage, projectionProblems, ProjectionRow, PublishedLog, publishedProblems, rng, versionProblems } from '@app/workload';
import { SyncWorkerModule } from '../../apps/sync-worker/src/sync-worker.module';
import { KafkaBatchTransport } from '../../apps/sync-worker/src/transport/kafka-batch-transport';
import { isolatedConfig, TEST_DATABASE_URL } from './isolation';
import { createRunTopics, testKafka } from './kafka';
import { sourceSchemaProblems } from './source-schemas';

export type InputTopicKey = InputMessage['topic'];

/** A message to produce: a builder's `InputMessage`, or anything raw (poison, headers, binary). */
export interface RawInput {
  topic: InputTopicKey;
  key: string | null;
  value: string | Buffer | null;
  headers?: Record<string, string | Buffer>;
}

export interface ProduceOptions {
  /** Produce in a random (seeded) order. */
  shuffle?: boolean;
  /** Extra copies of every message (1 = each message twice), mixed in at random positions. */
  duplicate?: number;
  /** Replace keys by random strings, so one enrollment's messages spread over partitions. */
  randomKeys?: boolean;
  /** Seed of shuffle / duplicates / keys. */
  seed?: number;
  /** Messages per produce request. */
  chunk?: number;
  /** The produce requests' compression (default none). */
  compression?: CompressionTypes;
}

export interface CollectedOutput {
  key: string;
  partition: number;
  offset: string;
  event: CourseEnrollmentsEvent;
  /** The Kafka headers, as text. */
  headers: Record<string, string>;
}

export interface CollectedDeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  offset: string;
}

export interface WaitQuietOptions {
  timeoutMs?: number;
  /** How long nothing new must arrive on the output and DLQ topics. */
  quietMs?: number;
}

export interface PipelineOptions {
  /** Extra env-style overrides for isolatedConfig. */
  overrides?: Record<string, string>;
  /**
   * Who runs course-wide recomputes: 'jobs-worker' (default) boots `JobsWorkerModule` in-process
   * (same config override); 'inline' has the harness run the library's `CourseRecompute` itself
   * (no Redis); 'none' nobody. $E2E_RECOMPUTE sets it when the option is absent.
   */
  recompute?: 'jobs-worker' | 'inline' | 'none';
  /** Boot the worker in-process right away (default true). */
  startWorker?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Env variables that make a child `node dist/apps/.../main.js` use this run's namespace. */
export function envOf(config: AppConfig): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: config.logLevel,
    KAFKA_BROKERS: config.kafka.brokers.join(','),
    KAFKA_CLIENT_ID: config.kafka.clientId,
    KAFKA_GROUP_ID: config.kafka.groupId,
    KAFKA_SESSION_TIMEOUT_MS: String(config.kafka.sessionTimeoutMs),
    TOPIC_COURSES: config.topics.courses,
    TOPIC_MEMBERSHIPS: config.topics.memberships,
    TOPIC_LESSON_PROGRESS: config.topics.lessonProgress,
    TOPIC_USERS: config.topics.users,
    TOPIC_COURSE_ENROLLMENTS: config.topics.courseEnrollments,
    TOPIC_DLQ: config.topics.dlq,
    TOPIC_PARTITIONS: String(config.topics.partitions),
    DLQ_PARTITIONS: String(config.topics.dlqPartitions),
    DATABASE_URL: config.database.url,
    DATABASE_SCHEMA: config.database.schema,
    DATABASE_POOL_SIZE: String(config.database.poolSize),
    REDIS_URL: config.redis.url,
    QUEUE_PREFIX: config.redis.queuePrefix,
    SYNC_WORKER_METRICS_PORT: '0',
    JOBS_WORKER_METRICS_PORT: '0',
    COURSE_URL_TEMPLATE: config.courseUrlTemplate,
    OUTBOX_POLL_MS: String(config.outboxPollMs),
    RELAY_SLOTS: String(config.relaySlots),
    SLOT_TAKEOVER_MS: String(config.slotTakeoverMs),
    STALL_AFTER_MS: String(config.stallAfterMs),
    SHUTDOWN_TIMEOUT_MS: String(config.shutdownTimeoutMs),
  };
}

export const SYNC_WORKER_DIST = join(__dirname, '..', '..', 'dist', 'apps', 'sync-worker', 'src', 'main.js');

export class Pipeline {
  readonly kafka: Kafka;
  /** Every message produced so far, in production order (duplicates included). */
  readonly produced: RawInput[] = [];
  /** Output events per key, in arrival order. */
  readonly outputs = new Map<string, CollectedOutput[]>();
  /** Output messages that did not decode against the contract. */
  readonly badOutputs: { key: string; error: string }[] = [];
  readonly deadLetters: CollectedDeadLetter[] = [];
  /** Worker child processes' output (last lines kept), for failure messages. */
  readonly workerLog: string[] = [];

  private admin!: Admin;
  private producer!: Producer;
  private outConsumer!: Consumer;
  private dlqConsumer!: Consumer;
  private dropTopics!: () => Promise<void>;
  private outSeen = new Map<number, bigint>(); // partition → next offset
  private dlqSeen = new Map<number, bigint>();
  private lastArrival = Date.now();
  private app?: INestApplicationContext;
  private jobsApp?: INestApplicationContext;
  private child?: ChildProcess;
  private readonly replicas: ChildProcess[] = [];
  private recomputeLoop?: Promise<void>;
  private running = true;
  private recomputer: CourseRecompute;
  private requests = new RecomputeRequestRepository();

  constructor(
    readonly config: AppConfig & { runId: string },
    readonly ds: DataSource,
    private readonly opts: PipelineOptions,
  ) {
    this.kafka = testKafka(config);
    this.recomputer = createProjection(ds, config.courseUrlTemplate, new OutputPartitions(config.topics.partitions, partitionForKey)).recompute;
  }

  /** Who runs course recomputes: the option, else $E2E_RECOMPUTE, else 'jobs-worker'. */
  get recomputeMode(): 'jobs-worker' | 'inline' | 'none' {
    return this.opts.recompute ?? (process.env.E2E_RECOMPUTE as 'jobs-worker' | 'inline' | 'none' | undefined) ?? 'jobs-worker';
  }

  async init(): Promise<void> {
    // Topic creation sometimes fails transiently while the broker is busy creating other runs'
    // topics ("This server does not host this topic-partition"): retry; existing ones are kept.
    for (let attempt = 1; ; attempt++) {
      try {
        this.dropTopics = await createRunTopics(this.config);
        break;
      } catch (err) {
        if (attempt >= 4) throw err;
        await sleep(1000 * attempt);
      }
    }
    this.admin = this.kafka.admin();
    await this.admin.connect();
    // Idempotent: a retried request must not write a message twice, or accounting() could not
    // tell produced from stored (duplicates of the pipeline's own making are produced explicitly).
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();

    this.outConsumer = this.kafka.consumer({ groupId: `${this.config.kafka.groupId}-out-collector`, sessionTimeout: 10000, heartbeatInterval: 1000 });
    await this.outConsumer.connect();
    await this.outConsumer.subscribe({ topic: this.config.topics.courseEnrollments, fromBeginning: true });
    await this.outConsumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString() ?? '';
        try {
          const event = decodeOutputEvent(message.value ?? Buffer.alloc(0));
          for (const problem of sourceSchemaProblems('CourseEnrollments', event.data.course_enrollment)) {
            this.badOutputs.push({ key, error: `v${event.data.version} breaks the source schema: ${problem}` });
          }
          const list = this.outputs.get(key) ?? [];
          list.push({ key, partition, offset: message.offset, event, headers: textHeaders(message.headers) });
          this.outputs.set(key, list);
        } catch (err) {
          this.badOutputs.push({ key, error: (err as Error).message });
        }
        this.outSeen.set(partition, BigInt(message.offset) + 1n);
        this.lastArrival = Date.now();
      },
    });

    this.dlqConsumer = this.kafka.consumer({ groupId: `${this.config.kafka.groupId}-dlq-collector`, sessionTimeout: 10000, heartbeatInterval: 1000 });
    await this.dlqConsumer.connect();
    await this.dlqConsumer.subscribe({ topic: this.config.topics.dlq, fromBeginning: true });
    await this.dlqConsumer.run({
      eachMessage: async ({ partition, message }) => {
        this.deadLetters.push({ key: message.key, value: message.value, headers: textHeaders(message.headers), offset: message.offset });
        this.dlqSeen.set(partition, BigInt(message.offset) + 1n);
        this.lastArrival = Date.now();
      },
    });

    const mode = this.recomputeMode;
    if (mode === 'inline') this.recomputeLoop = this.driveRecompute();
    if (mode === 'jobs-worker') await this.startJobsWorker();
  }

  // ---------------------------------------------------------------------------------------------
  // The worker

  /** The sync worker booted in this process, if any (its providers: metrics, the relay). */
  get inProcessWorker(): INestApplicationContext | undefined {
    return this.app;
  }

  /** Boots the sync worker in this process as main.ts does (a microservice on its batch transport, config overridden). */
  async startWorker(): Promise<void> {
    if (this.app) throw new Error('worker already running in-process');
    const moduleRef = await Test.createTestingModule({ imports: [SyncWorkerModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(this.config)
      .compile();
    const app = moduleRef.createNestMicroservice({ strategy: moduleRef.get(KafkaBatchTransport) });
    await app.listen();
    this.app = app;
  }

  /** Boots the jobs worker (course recompute) in this process, with this run's config. */
  async startJobsWorker(): Promise<void> {
    const { JobsWorkerModule } = await import('../../apps/jobs-worker/src/jobs-worker.module');
    const moduleRef = await Test.createTestingModule({ imports: [JobsWorkerModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(this.config)
      .compile();
    await moduleRef.init();
    this.jobsApp = moduleRef;
  }

  /** GET on the in-process worker's metrics port (`/metrics`, `/health/live`, `/health/ready`). */
  async workerGet(path: string): Promise<{ status: number; body: string }> {
    if (!this.app) throw new Error('no in-process worker');
    const port = this.app.get(MetricsEndpoint).boundPort();
    if (port === undefined) throw new Error('the worker serves no metrics port');
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  }

  /** Stops the in-process worker through its shutdown hooks (consumer, then relay, then pools). */
  async stopWorker(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    await app?.close();
  }

  /** Runs the built worker (`dist/…/main.js`) as a child process with this run's env. */
  spawnWorker(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) throw new Error('a worker child is already running');
    this.child = this.spawnReplica();
    return this.child;
  }

  /**
   * One more built worker as a child (any number of them: they share the consumer group and
   * the relay slots); stop() kills those still running.
   */
  spawnReplica(): ChildProcess {
    if (!existsSync(SYNC_WORKER_DIST)) throw new Error(`${SYNC_WORKER_DIST} is missing: run "npm run build" first`);
    const child = spawn(process.execPath, [SYNC_WORKER_DIST], {
      env: { ...process.env, ...envOf(this.config), APP_NAME: 'sync-worker' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.workerLog.push(`[${child.pid}] ${line}`);
      if (this.workerLog.length > 200) this.workerLog.splice(0, this.workerLog.length - 200);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    this.replicas.push(child);
    return child;
  }

  /** Sends `signal` to a worker child and waits for it to exit; resolves its exit code (null when killed). */
  async signalReplica(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const gone = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    return gone;
  }

  /** kill -9 the worker child and waits for it to be gone. */
  async killWorker(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await gone;
  }

  // ---------------------------------------------------------------------------------------------
  // When

  /** Produces messages to this run's input topics (`topic: 'courses'` → the run's courses topic). */
  async produce(messages: readonly (InputMessage | RawInput)[], opts: ProduceOptions = {}): Promise<void> {
    const rand = rng(opts.seed ?? 1);
    let list: RawInput[] = messages.map((m) => ({ ...m }));
    for (let d = 0; d < (opts.duplicate ?? 0); d++) list = list.concat(messages.map((m) => ({ ...m })));
    if (opts.shuffle || (opts.duplicate ?? 0) > 0) {
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [list[i], list[j]] = [list[j], list[i]];
      }
    }
    if (opts.randomKeys) list = list.map((m) => ({ ...m, key: `rk-${Math.floor(rand() * 1e9).toString(36)}` }));

    const chunk = opts.chunk ?? 500;
    const byTopic = (m: RawInput) => this.topicName(m.topic);
    for (let i = 0; i < list.length; i += chunk) {
      const slice = list.slice(i, i + chunk);
      const topicMessages = new Map<string, { key: string | null; value: string | Buffer | null; headers?: IHeaders }[]>();
      for (const m of slice) {
        const t = byTopic(m);
        const arr = topicMessages.get(t) ?? [];
        arr.push({ key: m.key, value: m.value, headers: m.headers });
        topicMessages.set(t, arr);
      }
      await this.producer.sendBatch({ acks: -1, compression: opts.compression, topicMessages: [...topicMessages].map(([topic, msgs]) => ({ topic, messages: msgs })) });
      this.produced.push(...slice);
    }
  }

  topicName(topic: InputTopicKey): string {
    return this.config.topics[topic];
  }

  /**
   * Waits until the worker has committed every input message, the outbox and the recompute
   * requests are empty, the collectors have read the output and DLQ topics to their ends, and
   * nothing new arrived for `quietMs`.
   */
  async waitQuiet(opts: WaitQuietOptions = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const quietMs = opts.quietMs ?? 1000;
    const deadline = Date.now() + timeoutMs;
    let pending: string[] = [];
    // A transient broker error (e.g. leadership moving while other runs create topics) is pending work.
    const check = () => this.pendingWork().catch((err: Error) => [`checking failed: ${err.message}`]);
    while (Date.now() < deadline) {
      pending = await check();
      if (pending.length === 0 && Date.now() - this.lastArrival >= quietMs) {
        // Confirm once more: nothing moved during the quiet period.
        pending = await check();
        if (pending.length === 0) return;
      }
      await sleep(200);
    }
    const tail = this.workerLog.slice(-15).join('\n');
    throw new Error(
      `pipeline not quiet after ${timeoutMs} ms:\n  - ${pending.join('\n  - ') || 'output still arriving'}` + (tail ? `\nlast worker log lines:\n${tail}` : ''),
    );
  }

  /** What is still under way; [] when the pipeline is idle. */
  async pendingWork(): Promise<string[]> {
    const out: string[] = [];
    const lag = await this.inputLag();
    if (lag.total > 0) out.push(`input not committed: ${lag.total} message(s) (${lag.detail.join(', ')})`);
    // Parked events wait for an operator (npm run ops -- parked), not for the relay.
    const [{ n: outbox }] = await this.ds.query(`SELECT count(*)::int AS n FROM outbox WHERE parked_at IS NULL`);
    if (outbox > 0) out.push(`outbox holds ${outbox} pending event(s)`);
    const requests = (await this.requests.pending(this.ds, 1000)).length;
    if (requests > 0) out.push(`recompute_requests: ${requests} course(s) pending (recompute: ${this.recomputeMode})`);
    for (const [topic, seen, what] of [
      [this.config.topics.courseEnrollments, this.outSeen, 'output'],
      [this.config.topics.dlq, this.dlqSeen, 'DLQ'],
    ] as const) {
      for (const p of await this.admin.fetchTopicOffsets(topic)) {
        const high = BigInt(p.high);
        const next = seen.get(p.partition) ?? 0n;
        if (next < high) out.push(`${what} collector behind on partition ${p.partition}: ${next}/${high}`);
      }
    }
    return out;
  }

  /** Messages of the input topics not yet committed by the worker's group. */
  async inputLag(): Promise<{ total: number; committed: number; high: number; detail: string[] }> {
    const topics = inputTopics(this.config);
    const committed = await this.admin.fetchOffsets({ groupId: this.config.kafka.groupId, topics });
    const byKey = new Map<string, bigint>();
    for (const t of committed) for (const p of t.partitions) byKey.set(`${t.topic}/${p.partition}`, p.offset === '-1' ? 0n : BigInt(p.offset));
    let total = 0n;
    let sumCommitted = 0n;
    let sumHigh = 0n;
    const detail: string[] = [];
    for (const topic of topics) {
      for (const p of await this.admin.fetchTopicOffsets(topic)) {
        const high = BigInt(p.high);
        const c = byKey.get(`${topic}/${p.partition}`) ?? 0n;
        sumHigh += high;
        sumCommitted += c;
        if (c < high) {
          total += high - c;
          detail.push(`${topic.split('.')[1]}/${p.partition} ${c}/${high}`);
        }
      }
    }
    return { total: Number(total), committed: Number(sumCommitted), high: Number(sumHigh), detail };
  }

  // ---------------------------------------------------------------------------------------------
  // Then

  /** The collected output folded for the checks: version sequences and the last event per key. */
  published(): PublishedLog {
    const log = new PublishedLog();
    for (const [key, list] of this.outputs) for (const o of list) log.add(key, o.event);
    return log;
  }

  /** Facts of every produced message that decodes (poison is skipped). */
  producedFacts(messages: readonly RawInput[] = this.produced): Fact[] {
    const facts: Fact[] = [];
    for (const m of messages) {
      const value = m.value === null ? null : Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value, 'utf8');
      const headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)]));
      const decoded = decodeMessage({ topic: this.topicName(m.topic), key: m.key === null ? null : Buffer.from(m.key), value, headers }, this.config.topics);
      if (decoded.ok) facts.push(decoded.event.fact);
    }
    return facts;
  }

  /** The reference projection of the produced messages (default: everything produced). */
  expected(messages: readonly RawInput[] = this.produced, now = new Date().toISOString()): Map<string, DerivedEnrollment> {
    return foldFacts(this.producedFacts(messages), { now, courseUrlTemplate: this.config.courseUrlTemplate });
  }

  /**
   * The `enrollments` rows equal `foldFacts` of everything produced (or of `valid` only, when
   * some messages pass the contract but are refused when applied), and the last published
   * event per key equals its row. One line per mismatch ([] = equal).
   */
  async oracle(valid: readonly RawInput[] = this.produced): Promise<string[]> {
    const rows = new Map<string, ProjectionRow>((await this.ds.query(`SELECT id, version, deleted, state FROM enrollments`)).map((r: ProjectionRow) => [r.id, r]));
    return [
      ...projectionProblems(this.expected(valid), rows),
      ...publishedProblems(rows, this.published().last),
      ...this.badOutputs.map((b) => `${b.key}: output breaks the contract: ${b.error}`),
    ];
  }

  /** Per-key version sequences of the output (see versionProblems). */
  versionsGapless(): string[] {
    return versionProblems(this.published().versions);
  }

  /** Number of re-sent (duplicate) output events seen; at-least-once allows some after crashes. */
  resentOutputs(): number {
    return this.published().resent();
  }

  /**
   * Every input accounted for: committed = produced, each distinct valid (source, id) is in
   * processed_events, and each invalid message is in the DLQ once.
   */
  async accounting(): Promise<string[]> {
    const problems: string[] = [];
    const lag = await this.inputLag();
    if (lag.total !== 0) problems.push(`${lag.total} input message(s) not committed`);
    if (lag.high !== this.produced.length) {
      problems.push(`input topics hold ${lag.high} messages, ${this.produced.length} produced (did the test producer retry a request?)`);
    }
    const valid = new Set<string>();
    let poison = 0;
    for (const m of this.produced) {
      const facts = this.producedFacts([m]);
      if (facts.length === 0) poison++;
      else valid.add(`${facts[0].meta.source}\u0000${facts[0].meta.id}`);
    }
    const [{ n }] = await this.ds.query(`SELECT count(*)::int AS n FROM processed_events`);
    if (n !== valid.size) problems.push(`processed_events holds ${n}, ${valid.size} distinct valid events produced`);
    if (this.deadLetters.length !== poison) problems.push(`DLQ holds ${this.deadLetters.length}, ${poison} invalid messages produced`);
    return problems;
  }

  // ---------------------------------------------------------------------------------------------

  /** Stands in for the jobs worker's course-recompute: runs pending requests until stopped. */
  private async driveRecompute(): Promise<void> {
    while (this.running) {
      try {
        for (const r of await this.requests.pending(this.ds, 50)) {
          if (!this.running) break;
          await this.recomputer.run(r.courseId);
        }
      } catch (err) {
        if (this.running) this.workerLog.push(`[harness recompute] ${(err as Error).message}`);
      }
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.recomputeLoop?.catch(() => undefined);
    await this.stopWorker().catch(() => undefined);
    await this.jobsApp?.close().catch(() => undefined);
    await this.killWorker().catch(() => undefined);
    await Promise.all(this.replicas.map((c) => this.signalReplica(c, 'SIGKILL').catch(() => undefined)));
    await Promise.all([this.outConsumer?.disconnect(), this.dlqConsumer?.disconnect(), this.producer?.disconnect()].map((p) => p?.catch(() => undefined)));
    const groups = [this.config.kafka.groupId, `${this.config.kafka.groupId}-out-collector`, `${this.config.kafka.groupId}-dlq-collector`];
    await this.admin?.deleteGroups(groups).catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    await this.dropTopics?.().catch(() => undefined);
    if (this.ds.isInitialized) {
      await this.ds.query(`DROP SCHEMA IF EXISTS "${this.config.database.schema}" CASCADE`).catch(() => undefined);
      await this.ds.destroy();
    }
  }
}

function textHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
  }
  return out;
}

/** Topics, schema, collectors and (by default) an in-process sync worker for one run. */
export async function startPipeline(opts: PipelineOptions = {}): Promise<Pipeline> {
  const config = isolatedConfig({ SYNC_WORKER_METRICS_PORT: '0', JOBS_WORKER_METRICS_PORT: '0', OUTBOX_POLL_MS: '200', ...opts.overrides });
  const ds = await createDataSource({ ...config.database, url: config.database.url ?? TEST_DATABASE_URL, poolSize: 4 }).initialize();
  await migrateUp(ds, config.database.schema);
  const p = new Pipeline(config, ds, opts);
  try {
    await p.init();
    if (opts.startWorker ?? true) await p.startWorker();
  } catch (err) {
    await p.stop();
    throw err;
  }
  return p;
}
