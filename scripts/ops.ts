// npm run ops -- <command>: operator commands against the jobs worker (replay, rebuild,
// recompute, status), whose jobs are enqueued with their deterministic ids and followed to the
// end, against the outbox (parked: events the broker refused, listed or sent again), against the
// stored facts (facts: those with a time in the future, listed or retracted), and a contract check
// for upstream teams (validate: CloudEvents from a file, no service needed).
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Job } from 'bullmq';
import type { DataSource } from 'typeorm';
import { AppConfig, loadConfig, parseEnvVars } from '@app/config';
import { decodeMessage, TopicNames } from '@app/contracts';
import { canonicalTime, FactKind, parseInstant } from '@app/domain';
import { BullMqJobQueue, courseRecomputeJobId, ProgressPayload, QUEUES, QueueKey, rebuildJobId, ReplayJobData, replayJobId } from '@app/jobs';
import { createDataSource, OutboxRepository, ParkedRows, RecomputeRequestRepository, StoredFactRef } from '@app/persistence';
import { createProjection } from '@app/projection';

/** Where the CLI writes: process.stdout, or a buffer in tests. */
export interface Out {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface OpsDeps {
  /** Defaults to loadConfig() (the environment). */
  config?: AppConfig;
  /** How often a followed job is polled. */
  pollMs?: number;
  /** Without a TTY, a progress line at most this often. */
  lineEveryMs?: number;
  /** Give up following a job after this long (exit 1); default: no limit. */
  timeoutMs?: number;
  /** What `validate -` reads; defaults to process.stdin. */
  stdin?: NodeJS.ReadableStream;
  /** Where MAX_FUTURE_SKEW_MS is read from; defaults to process.env. */
  env?: Record<string, string | undefined>;
}

export const USAGE = `usage: npm run ops -- <command> [options]

commands:
  replay --topic <name> [--from-offset <n> | --from-time <RFC 3339>]
                        re-read a topic (input or dead-letter; a configured name or one of
                        courses, memberships, lesson-progress, users, dlq) through the projection
  rebuild               re-derive every enrollment from the stored facts
  recompute --course <id>
                        re-derive every enrollment of one course
  status                job counts per queue
  parked [--id <enrollment id>] [--republish]
                        outbox events parked because the broker refused them (or held behind a
                        refused version of their key): enrollment id, version, type, bytes, parked
                        at, reason. --republish moves them (or one enrollment's) back to pending,
                        every version of a key at once, and the relay sends them in version order
                        (after e.g. raising the output topic's max.message.bytes)
  facts --future        stored facts whose time is more than MAX_FUTURE_SKEW_MS (default 300000,
                        5 minutes) ahead of now: source, id, kind, type, time, what they key
  facts retract --source <source> --id <id> [--timeout <seconds>]
                        remove the fact of that event, whatever its kind, and re-derive and
                        republish what it touched (a course, section or lesson: its course's
                        recompute, followed to the end). The event stays a duplicate; for a
                        course, section, lesson or user fact the inbox forgets the events it
                        had displaced, so re-sending them (or a replay) applies them
  validate [file.jsonl | -]
                        check input CloudEvents against the contract without Kafka or any
                        service: one structured-mode event (a JSON object) per line, from the
                        file or standard input (- or nothing). Prints each violation with its
                        line number and field path; exit 1 if any, 0 if every event is valid

options:
  --help, -h            this help
  --timeout <seconds>   stop following the job after this long (exit 1; the job keeps running)

Every job is followed until it completes (exit 0) or fails (exit 1).`;

class UsageError extends Error {}

type Flags = Map<string, string | true>;

/** `switches` are options without a value (`--republish`); every other option takes one. */
function parseFlags(args: string[], allowed: string[], switches: string[] = []): Flags {
  const flags: Flags = new Map();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!allowed.includes(name) && !switches.includes(name)) throw new UsageError(`unknown option --${name}`);
    if (flags.has(name)) throw new UsageError(`--${name} given twice`);
    if (switches.includes(name)) {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    let value: string | undefined = eq > 0 ? a.slice(eq + 1) : undefined;
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    flags.set(name, value);
  }
  return flags;
}

const str = (flags: Flags, name: string): string | undefined => {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
};

function nonNegativeInt(value: string, what: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`${what} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

function positiveInt(value: string, what: string): number {
  const n = nonNegativeInt(value, what);
  if (n === 0) throw new UsageError(`${what} must be a positive integer, got "${value}"`);
  return n;
}

const TOPIC_ALIASES: Record<string, keyof AppConfig['topics']> = {
  courses: 'courses',
  memberships: 'memberships',
  'lesson-progress': 'lessonProgress',
  lessonProgress: 'lessonProgress',
  users: 'users',
  dlq: 'dlq',
};

export function resolveTopic(config: AppConfig, topic: string): string {
  const t = config.topics;
  const names = [t.courses, t.memberships, t.lessonProgress, t.users, t.dlq];
  if (names.includes(topic)) return topic;
  const alias = TOPIC_ALIASES[topic];
  if (alias) return t[alias] as string;
  throw new UsageError(`unknown topic "${topic}": use one of ${names.join(', ')} (or ${Object.keys(TOPIC_ALIASES).join(', ')})`);
}

/** Parses `replay` options into the job's data. */
export function replayData(config: AppConfig, args: string[]): ReplayJobData {
  const flags = parseFlags(args, ['topic', 'from-offset', 'from-time', 'timeout']);
  const topic = str(flags, 'topic');
  if (!topic) throw new UsageError('replay: missing --topic <name>');
  const offset = str(flags, 'from-offset');
  const time = str(flags, 'from-time');
  if (offset !== undefined && time !== undefined) throw new UsageError('replay: give --from-offset or --from-time, not both');
  const data: ReplayJobData = { topic: resolveTopic(config, topic) };
  if (offset !== undefined) data.fromOffset = nonNegativeInt(offset, '--from-offset');
  if (time !== undefined) {
    const canonical = parseInstant(time);
    if (canonical === null) throw new UsageError(`--from-time: not an RFC 3339 timestamp with a zone offset: "${time}" (e.g. 2026-11-01T09:00:00Z)`);
    data.fromTimestamp = Date.parse(canonical.slice(0, 23) + 'Z');
  }
  return data;
}

// ---------------------------------------------------------------------------------------------
// Progress

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** `[#####.....] 50% 1,234/2,468 applied 1,200 duplicate 30 invalid 4` */
export function progressLine(p: Partial<ProgressPayload> | undefined, width = 20, finished = false): string {
  const done = Number(p?.done ?? 0);
  const total = Number(p?.total ?? 0);
  const ratio = total > 0 ? Math.min(1, done / total) : finished ? 1 : 0;
  const filled = Math.round(ratio * width);
  const pct = Math.floor(ratio * 100);
  const details = Object.entries(p ?? {})
    .filter(([k, v]) => k !== 'done' && k !== 'total' && typeof v === 'number')
    .map(([k, v]) => ` ${k} ${fmt(v as number)}`)
    .join('');
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${fmt(done)}/${fmt(total)}${details}`;
}

/** Redraws in place on a TTY; otherwise one line every `everyMs`, plus the last one. */
class ProgressView {
  private last = '';
  private lastAt = 0;
  private drawn = false;

  constructor(
    private readonly out: Out,
    private readonly everyMs: number,
  ) {}

  update(line: string): void {
    if (this.out.isTTY) {
      if (line === this.last) return;
      this.out.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else {
      const now = Date.now();
      if (line === this.last || now - this.lastAt < this.everyMs) return;
      this.out.write(`${line}\n`);
      this.lastAt = now;
    }
    this.last = line;
  }

  finish(line: string): void {
    if (this.out.isTTY) this.out.write(`\r${line}\x1b[K\n`);
    else if (line !== this.last || !this.lastAt) this.out.write(`${line}\n`);
    this.drawn = false;
    this.last = '';
  }

  /** Ends a half-drawn TTY line before other output. */
  break(): void {
    if (this.out.isTTY && this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long one Redis read may take before it counts as Redis being unreachable. */
const REDIS_TIMEOUT_MS = 5000;

/** BullMQ waits for a connection forever; the CLI must not. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The Redis address without credentials, for messages. */
function redisAddress(config: AppConfig): string {
  try {
    const u = new URL(config.redis.url);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return 'the configured Redis';
  }
}

interface Ctx {
  config: AppConfig;
  out: Out;
  queue: BullMqJobQueue;
  pollMs: number;
  lineEveryMs: number;
  timeoutMs?: number;
}

/**
 * Follows a job until it completes (0) or fails for good (1). A job that does not exist yet is
 * waited for (the recompute job is enqueued by the jobs worker's dispatcher).
 */
async function follow(ctx: Ctx, key: QueueKey, id: string): Promise<number> {
  const { out } = ctx;
  const q = ctx.queue.queue(key);
  const view = new ProgressView(out, ctx.lineEveryMs);
  const started = Date.now();
  let announced = false;
  let unreachable = false;
  for (;;) {
    if (ctx.timeoutMs !== undefined && Date.now() - started > ctx.timeoutMs) {
      view.break();
      out.write(`ops: gave up following ${QUEUES[key].name}/${id} after ${Math.round(ctx.timeoutMs / 1000)} s (the job is not cancelled)\n`);
      return 1;
    }
    let job: Job | undefined;
    let state: string | undefined;
    try {
      job = await within(q.getJob(id), REDIS_TIMEOUT_MS, `reading job ${id} from Redis at ${redisAddress(ctx.config)}`);
      state = job ? await within(job.getState(), REDIS_TIMEOUT_MS, `reading job ${id} from Redis`) : undefined;
      if (unreachable) {
        view.break();
        out.write('ops: Redis is reachable again\n');
        unreachable = false;
      }
    } catch (err) {
      if (!unreachable) {
        view.break();
        out.write(`ops: cannot read the job (${(err as Error).message}); retrying\n`);
        unreachable = true;
      }
      await sleep(Math.max(ctx.pollMs, 1000));
      continue;
    }
    if (!job) {
      if (!announced) {
        out.write(`ops: waiting for job ${QUEUES[key].name}/${id} to be enqueued (is the jobs worker running?)\n`);
        announced = true;
      }
      await sleep(ctx.pollMs);
      continue;
    }
    const progress = (typeof job.progress === 'object' ? job.progress : undefined) as Partial<ProgressPayload> | undefined;
    if (state === 'completed') {
      const result = job.returnvalue as Record<string, unknown> | null;
      const final = finalProgress(progress, result);
      view.finish(progressLine(final, 20, true));
      out.write(`ops: ${QUEUES[key].name}/${id} completed: ${JSON.stringify(result)}\n`);
      return 0;
    }
    if (state === 'failed') {
      if (progress) view.finish(progressLine(progress));
      else view.break();
      out.write(`ops: ${QUEUES[key].name}/${id} failed after ${job.attemptsMade} attempt(s): ${job.failedReason}\n`);
      return 1;
    }
    view.update(`${progressLine(progress)}${state && state !== 'active' ? ` (${state})` : ''}`);
    await sleep(ctx.pollMs);
  }
}

/** The last progress, completed from the result when the job reported less (or nothing). */
function finalProgress(progress: Partial<ProgressPayload> | undefined, result: Record<string, unknown> | null): Partial<ProgressPayload> {
  const p: Record<string, number> = { ...(progress as Record<string, number> | undefined) };
  // The result's counters refresh those the progress reported; with no progress at all, they stand in for it.
  for (const [k, v] of Object.entries(result ?? {})) {
    if (typeof v === 'number' && k !== 'courseId' && (progress === undefined || k in p)) p[k] = v;
  }
  if (p.total === undefined) p.total = p.done ?? 0;
  if (p.done === undefined) p.done = p.total;
  return p;
}

async function enqueueAndFollow<T extends object>(ctx: Ctx, key: QueueKey, name: string, data: T, id: string): Promise<number> {
  const { id: jobId } = await ctx.queue.enqueue(key, name, data, { jobId: id });
  ctx.out.write(`ops: ${QUEUES[key].name}/${jobId} enqueued\n`);
  return follow(ctx, key, jobId);
}

async function recompute(ctx: Ctx, courseId: number): Promise<number> {
  const ds: DataSource = await createDataSource(ctx.config.database, { applicationName: 'enrollment-sync:ops' }).initialize();
  let generation: number;
  try {
    const requests = new RecomputeRequestRepository();
    const cause = {
      time: canonicalTime(new Date().toISOString()),
      source: '/enrollment-sync/ops',
      id: randomUUID(),
      type: 'ops.recompute',
    };
    // Read the generation in the same transaction: the job may complete the request right after commit.
    generation = await ds.transaction(async (m) => {
      await requests.request(m, new Map([[courseId, cause]]));
      const r = await requests.find(m, courseId);
      if (!r) throw new Error(`the recompute request of course ${courseId} was not recorded`);
      return r.generation;
    });
  } finally {
    await ds.destroy();
  }
  return followRecompute(ctx, courseId, generation);
}

/** Follows the job of one generation of a course's recompute request (the jobs worker enqueues it). */
function followRecompute(ctx: Ctx, courseId: number, generation: number): Promise<number> {
  const id = courseRecomputeJobId({ courseId, generation });
  ctx.out.write(`ops: recompute of course ${courseId} requested (generation ${generation}, job ${QUEUES.courseRecompute.name}/${id})\n`);
  return follow(ctx, 'courseRecompute', id);
}

/** The enrollment id as the outbox keys it: `{course_id}:{user_id}`. */
function enrollmentId(value: string): string {
  if (!/^\d{1,19}:\d{1,19}$/.test(value)) throw new UsageError(`--id must be an enrollment id "{course_id}:{user_id}", got "${value}"`);
  return value;
}

/** `42:7 v1..v3` (consecutive versions as a range). */
const versionsText = (r: ParkedRows): string => {
  const v = r.versions;
  const consecutive = v.every((x, i) => i === 0 || x === v[i - 1] + 1);
  return `${r.enrollmentId} ${consecutive && v.length > 1 ? `v${v[0]}..v${v[v.length - 1]}` : v.map((x) => `v${x}`).join(',')}`;
};

function table(out: Out, rows: string[][], rightAligned: number[]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) {
    const cells = r.map((c, i) => (i === r.length - 1 ? c : rightAligned.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])));
    out.write(`${cells.join('  ')}\n`);
  }
}

/**
 * Lists parked outbox events, or moves them back to pending. Needs Postgres only: the relay
 * picks republished events up on the NOTIFY of the commit.
 */
async function parked(config: AppConfig, out: Out, args: string[]): Promise<number> {
  const flags = parseFlags(args, ['id'], ['republish']);
  const id = str(flags, 'id');
  const only = id === undefined ? undefined : enrollmentId(id);
  const ds: DataSource = await createDataSource({ ...config.database, poolSize: 1 }, { applicationName: 'enrollment-sync:ops' }).initialize();
  try {
    const outbox = new OutboxRepository();
    if (flags.get('republish') === true) {
      const moved = await ds.transaction((tx) => outbox.republish(tx, only));
      if (moved.length === 0) {
        out.write(`ops: no parked events${only ? ` of ${only}` : ''}\n`);
        return only ? 1 : 0;
      }
      const n = moved.reduce((sum, r) => sum + r.versions.length, 0);
      out.write(`ops: ${n} parked event(s) of ${moved.length} enrollment(s) moved back to pending: ${moved.map(versionsText).join(', ')}\n`);
      return 0;
    }
    const list = await outbox.parked(ds, only);
    if (list.length === 0) {
      out.write(`ops: no parked events${only ? ` of ${only}` : ''}\n`);
      return 0;
    }
    table(
      out,
      [
        ['enrollment id', 'version', 'type', 'bytes', 'parked at', 'reason'],
        ...list.map((e) => [e.enrollmentId, String(e.version), e.type, fmt(e.bytes), e.parkedAt.toISOString(), e.reason]),
      ],
      [1, 3],
    );
    out.write(`ops: ${list.length} parked event(s); "npm run ops -- parked --republish" sends them again once the broker can take them\n`);
    return 0;
  } finally {
    await ds.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// facts

/** What a fact keys, in words: `course 42`, `lesson 9 of course 42`, `user 7`, `enrollment 42:7`. */
export function factSubject(kind: FactKind, keys: Record<string, number>): string {
  switch (kind) {
    case 'course':
      return `course ${keys.course_id}`;
    case 'section':
      return `section ${keys.section_id} of course ${keys.course_id}`;
    case 'lesson':
      return `lesson ${keys.lesson_id} of course ${keys.course_id}`;
    case 'user':
      return `user ${keys.user_id}`;
    default:
      return `enrollment ${keys.course_id}:${keys.user_id}`;
  }
}

/** One line per event: a course upsert is held by its register row and by its snapshot. */
function byEvent(refs: StoredFactRef[]): { ref: StoredFactRef; tables: string[] }[] {
  const out = new Map<string, { ref: StoredFactRef; tables: string[] }>();
  for (const ref of refs) {
    const key = `${ref.meta.source}\u0000${ref.meta.id}`;
    const seen = out.get(key);
    if (seen) seen.tables.push(ref.table);
    else out.set(key, { ref, tables: [ref.table] });
  }
  return [...out.values()];
}

async function facts(config: AppConfig, out: Out, args: string[], deps: OpsDeps): Promise<number> {
  if (args[0] === 'retract') return retract(config, out, args.slice(1), deps);
  const flags = parseFlags(args, [], ['future']);
  if (flags.get('future') !== true) throw new UsageError('facts: give --future (list facts from the future) or retract --source <source> --id <id>');
  // The sync worker's own setting, parsed and bounded by the same schema.
  const skew = parseEnvVars(deps.env ?? process.env, ['MAX_FUTURE_SKEW_MS']).MAX_FUTURE_SKEW_MS;
  const after = canonicalTime(new Date(Date.now() + skew).toISOString());
  const ds: DataSource = await createDataSource({ ...config.database, poolSize: 1 }, { applicationName: 'enrollment-sync:ops' }).initialize();
  try {
    const found = byEvent(await createProjection(ds, config.courseUrlTemplate).retraction.after(after));
    if (found.length === 0) {
      out.write(`ops: no stored fact has a time after ${after} (now + MAX_FUTURE_SKEW_MS ${skew} ms)\n`);
      return 0;
    }
    table(
      out,
      [
        ['source', 'id', 'kind', 'type', 'time', 'keys'],
        ...found.map(({ ref }) => [ref.meta.source, ref.meta.id, ref.kind, ref.meta.type, ref.meta.time, factSubject(ref.kind, ref.keys)]),
      ],
      [],
    );
    out.write(
      `ops: ${found.length} fact(s) with a time after ${after} (now + MAX_FUTURE_SKEW_MS ${skew} ms); ` +
        `"npm run ops -- facts retract --source <source> --id <id>" removes one\n`,
    );
    return 0;
  } finally {
    await ds.destroy();
  }
}

const quoted = (s: string): string => JSON.stringify(s);

async function retract(config: AppConfig, out: Out, args: string[], deps: OpsDeps): Promise<number> {
  const flags = parseFlags(args, ['source', 'id', 'timeout']);
  const source = str(flags, 'source');
  const id = str(flags, 'id');
  if (source === undefined || id === undefined) throw new UsageError('facts retract: give --source <source> and --id <id> (the event whose fact goes)');
  const timeout = str(flags, 'timeout');
  const timeoutMs = timeout !== undefined ? positiveInt(timeout, '--timeout') * 1000 : deps.timeoutMs;
  const cause = { source: '/enrollment-sync/ops', id: randomUUID(), type: 'ops.facts.retract' };

  const ds: DataSource = await createDataSource({ ...config.database, poolSize: 1 }, { applicationName: 'enrollment-sync:ops' }).initialize();
  let result: Awaited<ReturnType<ReturnType<typeof createProjection>['retraction']['retract']>>;
  try {
    result = await createProjection(ds, config.courseUrlTemplate).retraction.retract({ source, id }, cause);
  } finally {
    await ds.destroy();
  }
  const event = `source ${quoted(source)} id ${quoted(id)}`;
  if (!result.found) {
    const why =
      result.processedAt === undefined
        ? 'no event with that source and id was ever applied ("npm run ops -- facts --future" lists facts from the future)'
        : result.retractedAt
          ? `its fact was retracted at ${result.retractedAt.toISOString()}`
          : `it was applied at ${result.processedAt.toISOString()}, but a newer fact has superseded it since`;
    out.write(`ops: facts retract: no stored fact of the event with ${event}: ${why}\n`);
    return 1;
  }
  const [first] = result.removed;
  out.write(
    `ops: retracted ${first.meta.type} (${event}, time ${first.meta.time}): ${factSubject(result.kind, first.keys)}, ` +
      `removed from ${result.removed.map((r) => r.table).join(' and ')}; the event stays a duplicate if it is sent again\n`,
  );
  if (result.storage === 'register') {
    out.write(
      `ops: ${result.released} superseded event(s) forgotten by the inbox: re-send the events of ${factSubject(result.kind, first.keys)} ` +
        `that the fact had displaced (or replay their topic) and they are applied, the latest winning\n`,
    );
  }
  if (result.recompute === undefined) {
    out.write(`ops: ${result.derived} enrollment(s) re-derived, ${result.published} change(s) published\n`);
    for (const e of result.withoutMembership) {
      out.write(`ops: enrollment ${e} has no membership fact left: it keeps its last published state until one arrives\n`);
    }
    return 0;
  }
  const queue = new BullMqJobQueue(config);
  try {
    const ctx: Ctx = { config, out, queue, pollMs: deps.pollMs ?? 250, lineEveryMs: deps.lineEveryMs ?? 3000, timeoutMs };
    return await followRecompute(ctx, result.recompute.courseId, result.recompute.generation);
  } finally {
    await within(queue.close(), 2000, 'closing the queues').catch(() => undefined);
  }
}

async function status(ctx: Ctx): Promise<number> {
  const states = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;
  const rows: string[][] = [['queue', ...states, 'paused']];
  for (const key of Object.keys(QUEUES) as QueueKey[]) {
    const q = ctx.queue.queue(key);
    const [counts, paused] = await within(
      Promise.all([q.getJobCounts(...states), q.isPaused()]),
      REDIS_TIMEOUT_MS,
      `reading queue ${QUEUES[key].name} from Redis at ${redisAddress(ctx.config)}`,
    );
    rows.push([QUEUES[key].name, ...states.map((s) => fmt(counts[s] ?? 0)), paused ? 'yes' : 'no']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) ctx.out.write(`${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// validate

/**
 * Any input type is accepted on any input topic (CONTRACT_DECISIONS), so the topic a line is
 * checked as coming from does not change the verdict: these names only satisfy decodeMessage.
 */
const VALIDATE_TOPICS: TopicNames = { courses: 'courses', memberships: 'memberships', lessonProgress: 'lesson-progress', users: 'users' };

/**
 * A violation's field path and the rest of its reason: contract violations start with the path
 * (`data.lesson.status must be ...`, `header ce_id ...`); the few about the whole value name it.
 */
export function violationPath(reason: string): { path: string; message: string } {
  const m = /^(header \S+|message value|value|[A-Za-z_$][\w$-]*(?:\.[^\s.]+|\[\d+\])*) (.*)$/s.exec(reason);
  if (!m) return { path: '(event)', message: reason };
  return { path: m[1] === 'message value' ? 'value' : m[1], message: m[2] };
}

/** Splits a byte stream into lines (LF or CRLF) without decoding it, so invalid UTF-8 reaches the decoder as sent. */
async function* lines(input: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0);
  for await (const chunk of input) {
    rest = Buffer.concat([rest, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
    let at: number;
    while ((at = rest.indexOf(0x0a)) >= 0) {
      yield rest.subarray(0, at > 0 && rest[at - 1] === 0x0d ? at - 1 : at);
      rest = rest.subarray(at + 1);
    }
  }
  if (rest.length > 0) yield rest;
}

/**
 * Checks each line as the sync worker would decode it (the contracts lib's decodeMessage, the
 * very code of the consumer), so a team can test its payloads before it produces them.
 */
async function validate(args: string[], out: Out, stdin: NodeJS.ReadableStream): Promise<number> {
  if (args.length > 1) throw new UsageError(`validate: one file at most, got ${args.length}`);
  const file = args[0] ?? '-';
  if (file !== '-' && file.startsWith('--')) throw new UsageError(`unknown option ${file}`);
  const input = file === '-' ? stdin : createReadStream(file);
  const where = file === '-' ? 'standard input' : file;
  let lineNo = 0;
  let checked = 0;
  let invalid = 0;
  try {
    for await (const line of lines(input)) {
      lineNo++;
      if (line.toString('latin1').trim() === '') continue; // blank lines separate nothing
      checked++;
      const result = decodeMessage({ topic: VALIDATE_TOPICS.courses, key: null, value: line, headers: {} }, VALIDATE_TOPICS);
      if (result.ok) continue;
      invalid++;
      const { path, message } = violationPath(result.reason);
      out.write(`${where}:${lineNo}: ${path}: ${message}\n`);
    }
  } catch (err) {
    out.write(`ops: validate: cannot read ${where}: ${(err as Error).message}\n`);
    return 1;
  }
  out.write(`ops: validate: ${checked} event(s) checked, ${checked - invalid} valid, ${invalid} with a violation\n`);
  return invalid > 0 ? 1 : 0;
}

/** Runs one command; resolves to the process exit code (0 ok, 1 job failed or error, 2 usage). */
export async function main(argv: string[], out: Out = process.stdout, deps: OpsDeps = {}): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help' || rest.includes('--help') || rest.includes('-h')) {
    out.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === 'validate') {
    // Needs no configuration and no service: it runs where the producing team works.
    try {
      return await validate(rest, out, deps.stdin ?? process.stdin);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      out.write(`ops: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
  }
  let config: AppConfig;
  try {
    config = deps.config ?? loadConfig();
  } catch (err) {
    out.write(`ops: invalid configuration: ${(err as Error).message}\n`);
    return 1;
  }
  let queue: BullMqJobQueue | undefined;
  try {
    if (command === 'parked') return await parked(config, out, rest);
    if (command === 'facts') return await facts(config, out, rest, deps);
    let run: (ctx: Ctx) => Promise<number>;
    let timeout: string | undefined;
    switch (command) {
      case 'replay': {
        const data = replayData(config, rest);
        timeout = str(parseFlags(rest, ['topic', 'from-offset', 'from-time', 'timeout']), 'timeout');
        run = (ctx) => enqueueAndFollow(ctx, 'replay', 'replay', data, replayJobId(data));
        break;
      }
      case 'rebuild': {
        timeout = str(parseFlags(rest, ['timeout']), 'timeout');
        run = (ctx) => enqueueAndFollow(ctx, 'rebuild', 'rebuild', {}, rebuildJobId());
        break;
      }
      case 'recompute': {
        const flags = parseFlags(rest, ['course', 'timeout']);
        const course = str(flags, 'course');
        if (course === undefined) throw new UsageError('recompute: missing --course <id>');
        const courseId = positiveInt(course, '--course');
        timeout = str(flags, 'timeout');
        run = (ctx) => recompute(ctx, courseId);
        break;
      }
      case 'status': {
        parseFlags(rest, []);
        run = status;
        break;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
    const timeoutMs = timeout !== undefined ? positiveInt(timeout, '--timeout') * 1000 : deps.timeoutMs;
    queue = new BullMqJobQueue(config);
    return await run({ config, out, queue, pollMs: deps.pollMs ?? 250, lineEveryMs: deps.lineEveryMs ?? 3000, timeoutMs });
  } catch (err) {
    if (err instanceof UsageError) {
      out.write(`ops: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    out.write(`ops: ${(err as Error).message}\n`);
    return 1;
  } finally {
    // Closing waits on Redis too; an unreachable Redis must not keep the CLI from exiting.
    if (queue) await within(queue.close(), 2000, 'closing the queues').catch(() => undefined);
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.stdout).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`ops: ${err.stack ?? err.message}`);
      process.exit(1);
    },
  );
}
