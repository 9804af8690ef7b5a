/**
 * A downstream consumer of the CourseEnrollments topic, as a team building against the contract
 * would write one. It uses nothing of this repository but the published JSON Schemas
 * (docs/schemas/): kafkajs to read, Ajv to validate.
 *
 * What it shows:
 * - validate every event against `lms.course_enrollment.schema.json` (and the structured-mode
 *   `content-type` header) before trusting it;
 * - `data.version` grows by exactly 1 per key (the enrollment id, also the message key): a version
 *   at or below the last one applied is a redelivery (delivery is at least once) and is skipped; a
 *   jump over missing versions is a gap, reported, and the event still applied, since each event
 *   carries the whole object (a real consumer would also re-read the enrollment from the read
 *   API's `GET /unified/lms/course-enrollments/{id}` and alert);
 * - `lms.course_enrollment.deleted` removes the enrollment (its course or user was deleted), while
 *   its last version is remembered, so that a redelivered older event cannot bring it back.
 *
 * The state lives in memory here; a real consumer stores the last version per key in its own
 * database, in the same transaction as the data it derives.
 *
 * The service publishes uncompressed batches. A topic whose `compression.type` makes the broker
 * recompress them (snappy, lz4, zstd) needs those codecs registered for kafkajs, which has only
 * gzip: libs/messaging/src/compression-codecs.ts shows the formats Kafka uses.
 *
 *   npm run build && KAFKA_BROKERS=127.0.0.1:9092 node dist/examples/downstream-consumer.js
 *
 * Environment: KAFKA_BROKERS (127.0.0.1:9092), TOPIC_COURSE_ENROLLMENTS (lms.course-enrollments.v1),
 * GROUP_ID (downstream-example), SCHEMAS_DIR (docs/schemas beside this file's repository),
 * EXIT_AT_END=1 (stop once every partition is read up to where it ended at start; otherwise run
 * until Ctrl-C).
 * Prints one JSON line per finding: applied, deleted, duplicate, gap, invalid.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { Kafka, logLevel } from 'kafkajs';

export const OUTPUT_SCHEMA_FILE = 'lms.course_enrollment.schema.json';

export type Finding =
  | { kind: 'applied'; key: string; version: number; type: string; status: string | null }
  | { kind: 'deleted'; key: string; version: number }
  | { kind: 'duplicate'; key: string; version: number; lastApplied: number }
  | { kind: 'gap'; key: string; version: number; missing: { from: number; to: number } }
  | { kind: 'invalid'; key: string; partition: number; offset: string; errors: string[] };

interface EnrollmentEvent {
  type: string;
  data: { version: number; course_enrollment: { id: string; status: string | null } & Record<string, unknown> };
}

/** What the consumer knows per enrollment id. */
interface KeyState {
  lastVersion: number;
  /** The enrollment as last published; undefined once deleted. */
  enrollment?: Record<string, unknown>;
}

/** Validation, gap detection and deletion, without Kafka: feed it each message of the topic. */
export class CourseEnrollmentsFollower {
  readonly state = new Map<string, KeyState>();
  private readonly validate;

  constructor(schemasDir: string) {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats(ajv);
    this.validate = ajv.compile<EnrollmentEvent>(JSON.parse(readFileSync(join(schemasDir, OUTPUT_SCHEMA_FILE), 'utf8')));
  }

  handle(message: { key: string; partition: number; offset: string; value: Buffer | null; contentType: string | undefined }): Finding[] {
    const invalid = (errors: string[]): Finding[] => [{ kind: 'invalid', key: message.key, partition: message.partition, offset: message.offset, errors }];
    if (!/^application\/cloudevents\+json\s*(;|$)/i.test(message.contentType ?? '')) {
      return invalid([`content-type header must be application/cloudevents+json (structured mode), got ${JSON.stringify(message.contentType ?? null)}`]);
    }
    let event: unknown;
    try {
      event = JSON.parse((message.value ?? Buffer.alloc(0)).toString('utf8'));
    } catch (err) {
      return invalid([`value is not JSON: ${(err as Error).message}`]);
    }
    if (!this.validate(event)) return invalid((this.validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`));
    const { version, course_enrollment: enrollment } = event.data;
    if (enrollment.id !== message.key) return invalid([`message key ${JSON.stringify(message.key)} is not the enrollment id ${JSON.stringify(enrollment.id)}`]);

    const findings: Finding[] = [];
    const known = this.state.get(enrollment.id);
    const last = known?.lastVersion ?? 0;
    if (version <= last) return [{ kind: 'duplicate', key: enrollment.id, version, lastApplied: last }];
    if (version > last + 1) findings.push({ kind: 'gap', key: enrollment.id, version, missing: { from: last + 1, to: version - 1 } });
    if (event.type === 'lms.course_enrollment.deleted') {
      this.state.set(enrollment.id, { lastVersion: version });
      findings.push({ kind: 'deleted', key: enrollment.id, version });
    } else {
      this.state.set(enrollment.id, { lastVersion: version, enrollment });
      findings.push({ kind: 'applied', key: enrollment.id, version, type: event.type, status: enrollment.status });
    }
    return findings;
  }
}

export interface ConsumerOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  schemasDir: string;
  /** Stop once every partition is read up to its end offset at start (one-off checks, tests). */
  untilEnd?: boolean;
  onFinding?: (finding: Finding) => void;
}

/** Reads the topic from the beginning (for a new group) until stopped, or its end with `untilEnd`. */
export async function runDownstreamConsumer(opts: ConsumerOptions): Promise<{ follower: CourseEnrollmentsFollower; stop: () => Promise<void>; done: Promise<void> }> {
  const follower = new CourseEnrollmentsFollower(opts.schemasDir);
  const kafka = new Kafka({ clientId: 'downstream-example', brokers: opts.brokers, logLevel: logLevel.WARN });
  // partition -> the offset to read up to; a partition is done when its next offset reaches it.
  const remaining = new Map<number, bigint>();
  if (opts.untilEnd) {
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const p of await admin.fetchTopicOffsets(opts.topic)) if (BigInt(p.high) > BigInt(p.low)) remaining.set(p.partition, BigInt(p.high));
    } finally {
      await admin.disconnect();
    }
  }
  const consumer = kafka.consumer({ groupId: opts.groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
  let stopped = false;
  let reachedEnd: () => void = () => undefined;
  const atEnd = new Promise<void>((r) => (reachedEnd = r));
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await consumer.disconnect();
    reachedEnd();
  };
  await consumer.run({
    // One partition's messages arrive in order, and one key's events are on one partition.
    eachMessage: async ({ partition, message }) => {
      const header = message.headers?.['content-type'];
      const findings = follower.handle({
        key: message.key?.toString('utf8') ?? '',
        partition,
        offset: message.offset,
        value: message.value,
        contentType: header === undefined ? undefined : String(Array.isArray(header) ? header[0] : header),
      });
      for (const f of findings) opts.onFinding?.(f);
      const end = remaining.get(partition);
      if (end !== undefined && BigInt(message.offset) + 1n >= end) {
        remaining.delete(partition);
        if (remaining.size === 0) setImmediate(() => void stop()); // not from inside the handler
      }
    },
  });
  if (opts.untilEnd && remaining.size === 0) await stop(); // an empty topic
  return { follower, stop, done: atEnd };
}

if (require.main === module) {
  const env = process.env;
  const repository = resolve(__dirname, __dirname.includes(`${join('dist', 'examples')}`) ? '../..' : '..');
  runDownstreamConsumer({
    brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    topic: env.TOPIC_COURSE_ENROLLMENTS ?? 'lms.course-enrollments.v1',
    groupId: env.GROUP_ID ?? 'downstream-example',
    schemasDir: env.SCHEMAS_DIR ?? join(repository, 'docs', 'schemas'),
    untilEnd: env.EXIT_AT_END === '1',
    onFinding: (f) => process.stdout.write(`${JSON.stringify(f)}\n`),
  }).then(
    ({ stop, done }) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop());
      return done;
    },
    (err: Error) => {
      process.stderr.write(`downstream-consumer: ${err.message}\n`);
      process.exit(1);
    },
  );
}
