/**
 * What the drill verifies once the pipeline is quiet, always over everything produced since the
 * start: it reads the input, output and dead-letter topics back from the beginning and the
 * projection from Postgres, and compares them with a from-scratch fold of the input log.
 */
import { Kafka, KafkaMessage } from 'kafkajs';
import { DataSource } from 'typeorm';
import { AppConfig, inputTopics } from '@app/config';
import { decodeMessage, decodeOutputEvent, DLQ_HEADERS } from '@app/contracts';
import { Fact, foldFacts } from '@app/domain';
import { partitionForKey } from '@app/messaging';
import { partitionProblems, projectionProblems, ProjectionRow, PublishedLog, publishedProblems, versionProblems } from '@app/workload';
import { POISON_KEY_PREFIX } from './load';

export interface Check {
  name: string;
  ok: boolean;
  /** A short figure for the table, e.g. "4,210 enrollments". */
  summary: string;
  /** The first problems, when not ok. */
  problems: string[];
}

/**
 * Reads a topic from the beginning up to the high watermarks seen at the start, with a
 * throwaway consumer group (deleted afterwards).
 */
export async function readTopic(kafka: Kafka, topic: string, onMessage: (partition: number, message: KafkaMessage) => void, timeoutMs = 120_000): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `drill-reader-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, sessionTimeout: 30_000 });
  try {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
    const left = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
    if (left.size === 0) return 0;
    let count = 0;
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const end = ends.get(batch.partition) ?? 0n;
        for (const m of batch.messages) {
          if (BigInt(m.offset) >= end) break;
          onMessage(batch.partition, m);
          count++;
          if (BigInt(m.offset) + 1n >= end) left.delete(batch.partition);
        }
        if (left.size === 0) finished();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise((_, fail) => (timer = setTimeout(() => fail(new Error(`reading ${topic} timed out with partitions ${[...left].join(',')} unfinished`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    return count;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).length;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');
const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();

function check(name: string, problems: string[], summary: string): Check {
  return { name, ok: problems.length === 0, summary: problems.length === 0 ? summary : `${fmt(problems.length)} problem(s)`, problems: problems.slice(0, 10) };
}

export interface Expectations {
  /** Valid events the load producer sent, as `source id`. */
  producedIds: readonly string[];
  /** Keys of the poison messages it sent. */
  poisonKeys: readonly string[];
}

export async function verify(kafka: Kafka, ds: DataSource, config: AppConfig, sent: Expectations): Promise<Check[]> {
  // 1. The input log as the broker holds it.
  const facts: Fact[] = [];
  const validIds = new Set<string>();
  const invalid = new Map<string, { key: string; value: Buffer | null }>(); // topic/partition/offset → message
  let inputs = 0;
  for (const topic of inputTopics(config)) {
    inputs += await readTopic(kafka, topic, (partition, m) => {
      const decoded = decodeMessage({ topic, key: m.key, value: m.value, headers: m.headers }, config.topics);
      if (decoded.ok) {
        facts.push(decoded.event.fact);
        validIds.add(`${decoded.event.source} ${decoded.event.id}`);
      } else {
        invalid.set(`${topic}/${partition}/${m.offset}`, { key: m.key?.toString() ?? '', value: m.value });
      }
    });
  }
  const logProblems: string[] = [];
  const missing = sent.producedIds.filter((id) => !validIds.has(id));
  if (missing.length > 0) logProblems.push(`${fmt(missing.length)} event(s) sent but not in the input topics, e.g. ${missing.slice(0, 3).join(', ')}`);
  const invalidKeys = new Set([...invalid.values()].map((m) => m.key));
  for (const key of sent.poisonKeys) if (!invalidKeys.has(key)) logProblems.push(`poison ${key} sent but not in the input topics`);
  for (const [where, m] of invalid) if (!m.key.startsWith(POISON_KEY_PREFIX)) logProblems.push(`${where}: a workload event does not decode (key ${m.key})`);

  // 2. The projection against the fold, the output against the projection.
  const expected = foldFacts(facts, { now: new Date().toISOString(), courseUrlTemplate: config.courseUrlTemplate });
  const rows = new Map<string, ProjectionRow>((await ds.query(`SELECT id, version, deleted, state FROM enrollments`)).map((r: ProjectionRow) => [r.id, r]));
  const published = new PublishedLog();
  const badOutputs: string[] = [];
  const partitionsByKey = new Map<string, Set<number>>();
  await readTopic(kafka, config.topics.courseEnrollments, (partition, m) => {
    const key = m.key?.toString() ?? '';
    partitionsByKey.set(key, (partitionsByKey.get(key) ?? new Set<number>()).add(partition));
    try {
      published.add(key, decodeOutputEvent(m.value ?? Buffer.alloc(0)));
    } catch (err) {
      badOutputs.push(`${key}@${m.offset}: output breaks the contract: ${(err as Error).message}`);
    }
  });

  const outputPartitions = await partitionCount(kafka, config.topics.courseEnrollments);

  // 3. Dead letters: exactly the invalid inputs, each unchanged. A copy of one already seen is an
  // at-least-once re-send (the dead letter landed, then the offset commit failed with the broker
  // away, and the slice was read again: docs/architecture.md, step 3); `dlq_topic/partition/offset`
  // identify it, so it is counted, not a problem, as long as it is the same message.
  const dlqProblems: string[] = [];
  const seen = new Set<string>();
  let deadLetters = 0;
  let dlqResent = 0;
  await readTopic(kafka, config.topics.dlq, (_p, m) => {
    deadLetters++;
    const where = `${header(m, DLQ_HEADERS.topic)}/${header(m, DLQ_HEADERS.partition)}/${header(m, DLQ_HEADERS.offset)}`;
    const original = invalid.get(where);
    if (!original) dlqProblems.push(`dead letter for ${where} (reason: ${header(m, DLQ_HEADERS.reason)}) is not an invalid input`);
    else if (!(original.value === null ? m.value === null || m.value.length === 0 : m.value?.equals(original.value)))
      dlqProblems.push(`${where}: dead letter's value differs from the input`);
    else if (seen.has(where)) dlqResent++;
    seen.add(where);
  });
  for (const [where, m] of invalid) if (!seen.has(where)) dlqProblems.push(`${where} (key ${m.key}) is invalid but not in the DLQ`);

  // 4. Every valid input recorded once.
  const [{ n: processed }] = await ds.query(`SELECT count(*)::int AS n FROM processed_events`);
  const accounting = processed === validIds.size ? [] : [`processed_events holds ${fmt(processed)}, the log has ${fmt(validIds.size)} distinct valid events`];

  const live = [...rows.values()].filter((r) => !r.deleted).length;
  return [
    check('input log = what was sent', logProblems, `${fmt(inputs)} messages`),
    check('projection = fold', projectionProblems(expected, rows), `${fmt(rows.size)} enrollments (${fmt(live)} live)`),
    check(
      'last published = projection',
      [...publishedProblems(rows, published.last), ...badOutputs],
      `${fmt(published.count)} events (${fmt(published.resent())} re-sent)`,
    ),
    check('versions gapless', versionProblems(published.versions), `${fmt(published.versions.size)} keys`),
    check(
      'keys on one partition',
      partitionProblems(partitionsByKey, (key) => partitionForKey(key, outputPartitions)),
      `${fmt(partitionsByKey.size)} keys on ${outputPartitions} partitions`,
    ),
    check('DLQ = poison', dlqProblems, `${fmt(seen.size)} of ${fmt(sent.poisonKeys.length)} poison (${fmt(dlqResent)} re-sent of ${fmt(deadLetters)} dead letters)`),
    check('inputs accounted', accounting, `${fmt(validIds.size)} distinct events`),
  ];
}
