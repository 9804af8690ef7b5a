/**
 * The partitioned relay on the real Kafka and Postgres: several relay replicas on one schema
 * split the slots fairly, a replica that joins gets its share, one that stops hands its slots
 * over, and through all of it every key's versions reach the output topic in order, gapless,
 * on the partition stored with its rows (at most re-sent, the same versions). Also: the
 * partition stored with a row is the one the broker gives the key with kafkajs's default
 * partitioner.
 */
import type { PinoLogger } from 'nestjs-pino';
import { Consumer, Kafka, Partitioners } from 'kafkajs';
import { DataSource } from 'typeorm';
import { partitionForKey } from '@app/messaging';
import { MetricsRegistry, PipelineMetrics } from '@app/observability';
import { createDataSource, migrateUp, OutboxEntry, OutboxRepository, OutboxStore, OutputPartitions, PgNotificationListener, RelaySlotStore } from '@app/persistence';
import { PublishedLog, versionProblems } from '@app/workload';
import type { CourseEnrollmentsEvent } from '@app/contracts';
import { OutboxRelay } from '../../apps/sync-worker/src/outbox/outbox-relay';
import { eventually } from '../support/eventually';
import { isolatedConfig } from '../support/isolation';
import { createRunTopics, testKafka } from '../support/kafka';

const SLOTS = 6;
const KEYS = Array.from({ length: 60 }, (_, i) => `${100 + (i % 7)}:${i + 1}`);
const ROUNDS = 40;

const silentLogger = (): PinoLogger => ({ setContext() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} }) as unknown as PinoLogger;

/** A minimal output event: what the version check reads (type, id, version, enrollment id). */
function eventOf(key: string, version: number): CourseEnrollmentsEvent {
  return {
    specversion: '1.0',
    id: `${key}/v${version}`,
    type: version === 1 ? 'lms.course_enrollment.created' : 'lms.course_enrollment.updated',
    data: { version, course_enrollment: { id: key } },
  } as unknown as CourseEnrollmentsEvent;
}

describe('partitioned outbox relay', () => {
  const config = isolatedConfig({ RELAY_SLOTS: String(SLOTS), SLOT_TAKEOVER_MS: '6000', OUTBOX_POLL_MS: '100' });
  let ds: DataSource;
  let kafka: Kafka;
  let dropTopics: () => Promise<void>;
  let collector: Consumer;
  let listener: PgNotificationListener;
  const partitions = new OutputPartitions(config.topics.partitions, partitionForKey);
  const outbox = new OutboxRepository(partitions);
  const published = new PublishedLog();
  /** Key → partitions its events arrived on. */
  const arrivedOn = new Map<string, Set<number>>();
  const relays: OutboxRelay[] = [];

  const newRelay = (): OutboxRelay => {
    const r = new OutboxRelay(
      config,
      kafka,
      new OutboxStore(ds),
      new RelaySlotStore(ds),
      listener,
      partitions,
      new PipelineMetrics(new MetricsRegistry()),
      silentLogger(),
    );
    relays.push(r);
    r.start();
    return r;
  };
  const owners = async (): Promise<Map<string, number[]>> => {
    const out = new Map<string, number[]>();
    for (const { slot, owner } of await new RelaySlotStore(ds).owners()) {
      const key = owner ?? '(none)';
      out.set(key, [...(out.get(key) ?? []), slot]);
    }
    return out;
  };
  /** Waits until the live replicas hold exactly these numbers of slots each. */
  const split = (want: Map<OutboxRelay, number>, what: string) =>
    eventually(
      async () => {
        const now = await owners();
        for (const [r, n] of want) if ((now.get(r.replica) ?? []).length !== n) return undefined;
        return now;
      },
      what,
      40_000,
    );

  beforeAll(async () => {
    dropTopics = await createRunTopics(config);
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    kafka = testKafka(config);
    listener = new PgNotificationListener(config.database, `relay-slots-${config.runId}`);
    collector = kafka.consumer({ groupId: `${config.kafka.groupId}-out`, sessionTimeout: 10000, heartbeatInterval: 1000 });
    await collector.connect();
    await collector.subscribe({ topic: config.topics.courseEnrollments, fromBeginning: true });
    await collector.run({
      eachMessage: ({ partition, message }) => {
        const key = message.key!.toString();
        published.add(key, JSON.parse(message.value!.toString()) as CourseEnrollmentsEvent);
        arrivedOn.set(key, (arrivedOn.get(key) ?? new Set()).add(partition));
        return Promise.resolve();
      },
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await collector?.disconnect();
    await listener?.close();
    await ds?.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds?.destroy();
    await dropTopics?.();
  }, 60_000);

  it('splits the slots fairly, hands them over on join and stop, and keeps every key in order on its partition', async () => {
    // Given two replicas
    const a = newRelay();
    const b = newRelay();
    await split(
      new Map([
        [a, 3],
        [b, 3],
      ]),
      'two replicas to hold three slots each',
    );

    // When events are written in rounds (every key's next version per round) while a third
    // replica joins and then one of the first two stops
    const writing = (async () => {
      for (let v = 1; v <= ROUNDS; v++) {
        const entries: OutboxEntry[] = KEYS.map((k) => ({ enrollmentId: k, version: v, event: eventOf(k, v) }));
        await ds.transaction((tx) => outbox.add(tx, entries));
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    const c = newRelay();
    const afterJoin = await split(
      new Map([
        [a, 2],
        [b, 2],
        [c, 2],
      ]),
      'the newcomer to get its fair share (two each)',
    );
    expect(afterJoin.get('(none)')).toBeUndefined();
    await a.stop();
    const afterStop = await split(
      new Map([
        [b, 3],
        [c, 3],
      ]),
      "the stopped replica's slots to be taken over",
    );
    expect(afterStop.has(a.replica)).toBe(false);
    await writing;

    // Then everything is published: gapless, in order per key, on the key's stored partition
    await eventually(
      async () => {
        const [{ n }]: { n: number }[] = await ds.query(`SELECT count(*)::int AS n FROM outbox`);
        return n === 0 && published.count >= KEYS.length * ROUNDS ? true : undefined;
      },
      'the outbox to drain and every event to arrive',
      60_000,
    );
    expect(versionProblems(published.versions)).toEqual([]);
    for (const k of KEYS) {
      expect({ k, versions: new Set(published.versions.get(k)!.map((p) => p.version)).size }).toEqual({ k, versions: ROUNDS });
      expect({ k, partitions: [...arrivedOn.get(k)!] }).toEqual({ k, partitions: [partitionForKey(k, config.topics.partitions)] });
    }
    console.log(`relay slots: ${published.count} events over ${KEYS.length} keys, ${published.resent()} re-sent through the hand-overs`);
  }, 120_000);

  it('stores on each row the partition the broker gives its key with the default partitioner', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `${7 + i}:${1000 + i * 13}`);
    for (const r of relays) await r.stop();
    await ds.transaction((tx) =>
      outbox.add(
        tx,
        keys.map((k) => ({ enrollmentId: k, version: 1, event: eventOf(k, 1) })),
      ),
    );
    const stored = new Map(
      (
        await ds.query<{ enrollment_id: string; output_partition: number }[]>(`SELECT enrollment_id, output_partition FROM outbox WHERE enrollment_id = ANY($1)`, [keys])
      ).map((r) => [r.enrollment_id, r.output_partition]),
    );
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (const k of keys) {
        // An input topic of the run: same partition count as the output topic, no relay reads it.
        const [meta] = await producer.send({ topic: config.topics.courses, messages: [{ key: k, value: 'x' }] });
        expect({ k, partition: stored.get(k) }).toEqual({ k, partition: meta.partition });
      }
    } finally {
      await producer.disconnect();
    }
  }, 60_000);
});
