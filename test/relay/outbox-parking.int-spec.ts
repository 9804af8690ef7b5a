/**
 * The outbox relay against a real broker that refuses an event for good: this run's output topic
 * takes at most 8 KiB per record batch, and one learner's enrollment carries contract-valid
 * custom fields of ~12 KB. The relay must park that event (and hold its key's later versions),
 * publish every other event exactly once, and after the topic is raised, `ops parked --republish`
 * must publish the parked versions in order. Real Kafka and Postgres, an in-process sync worker.
 */
import { ConfigResourceTypes } from 'kafkajs';
import { isRecordRefused, partitionForKey, recordRefusal } from '@app/messaging';
import { PipelineMetrics } from '@app/observability';
import { OutboxRepository } from '@app/persistence';
import { clock, events, InputMessage } from '@app/workload';
import { main } from '../../scripts/ops';
import { eventually } from '../support/eventually';
import { Pipeline, startPipeline } from '../support/pipeline';

const COURSE = 42;
const USERS = Array.from({ length: 24 }, (_, i) => i + 1);
/** The learner whose enrollment events the output topic refuses. */
const BIG_USER = 3;
const BIG_KEY = `${COURSE}:${BIG_USER}`;
const TOPIC_LIMIT = 8 * 1024;
/** ~12 KB of custom fields: valid input, but the enrollment event no longer fits TOPIC_LIMIT. */
const BIG_FIELDS = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field_${i}`, `${i}`.repeat(300).slice(0, 300)]));

class Captured {
  text = '';
  isTTY = false;
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

interface OutboxRow {
  version: number;
  parked: boolean;
  parked_reason: string | null;
}

describe('outbox relay: an event the broker refuses is parked, never looped', () => {
  const at = clock();
  let p: Pipeline;

  const setTopicLimit = async (bytes: number): Promise<void> => {
    const admin = p.kafka.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: p.config.topics.courseEnrollments, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }],
      });
    } finally {
      await admin.disconnect();
    }
  };

  const outboxOf = (key: string): Promise<OutboxRow[]> =>
    p.ds.query(`SELECT version, parked_at IS NOT NULL AS parked, parked_reason FROM outbox WHERE enrollment_id = $1 ORDER BY version`, [key]);
  const projectedVersions = async (): Promise<Map<string, number>> =>
    new Map((await p.ds.query(`SELECT id, version FROM enrollments`)).map((r: { id: string; version: number }) => [r.id, r.version]));
  /** Versions seen more than once on the output: `42:1 v1 x3`. */
  const duplicates = (): string[] => {
    const out: string[] = [];
    for (const [key, list] of p.outputs) {
      const counts = new Map<number, number>();
      for (const o of list) counts.set(o.event.data.version, (counts.get(o.event.data.version) ?? 0) + 1);
      for (const [v, n] of counts) if (n > 1) out.push(`${key} v${v} x${n}`);
    }
    return out.sort();
  };
  const versionsOf = (key: string): number[] => (p.outputs.get(key) ?? []).map((o) => o.event.data.version);
  const gauge = async (pick: (m: PipelineMetrics) => { get(): Promise<{ values: { value: number }[] }> }): Promise<number> =>
    (await pick(p.inProcessWorker!.get(PipelineMetrics)).get()).values[0]?.value ?? 0;
  /** Waits for the pipeline to settle; on a relay that loops it never does, and the checks after it say why. */
  const settle = (): Promise<string> =>
    p.waitQuiet({ timeoutMs: 45_000, quietMs: 1500 }).then(
      () => 'quiet',
      (err: Error) => err.message,
    );

  beforeAll(async () => {
    p = await startPipeline({ recompute: 'inline', startWorker: false });
    await setTopicLimit(TOPIC_LIMIT);
    await p.startWorker();
    const structure: InputMessage[] = [
      events.courseUpserted({ id: COURSE, name: 'Onboarding', slug: 'onboarding' }, { time: at(), id: 'course' }),
      events.sectionUpserted(COURSE, { id: 7, name: 'Basics', position: 1 }, { time: at(), id: 'section' }),
      events.lessonUpserted(COURSE, { id: 1, section_id: 7, name: 'Lesson 1', status: 'published', position: 1 }, { time: at(), id: 'lesson-1' }),
      events.lessonUpserted(COURSE, { id: 2, section_id: 7, name: 'Lesson 2', status: 'published', position: 2 }, { time: at(), id: 'lesson-2' }),
      ...USERS.map((u) => events.userUpserted({ id: u, username: `learner${u}` }, { time: at(), id: `user-${u}` })),
    ];
    await p.produce(structure);
    expect(await settle()).toBe('quiet');
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('parks the refused event with its reason, holds its key, and publishes every other event exactly once', async () => {
    // The refused key shares its partition with other keys: they must not wait behind it.
    const bigPartition = partitionForKey(BIG_KEY, p.config.topics.partitions);
    const neighbours = USERS.filter((u) => u !== BIG_USER && partitionForKey(`${COURSE}:${u}`, p.config.topics.partitions) === bigPartition);
    expect(neighbours.length).toBeGreaterThan(0);

    await p.produce(
      USERS.map((u) =>
        events.membershipChanged(
          { course_id: COURSE, user_id: u, join_status: 'joined', ...(u === BIG_USER ? { custom_fields: BIG_FIELDS } : {}) },
          { time: at(), id: `join-${u}` },
        ),
      ),
    );
    const firstWave = await settle();
    expect(duplicates()).toEqual([]); // today's relay resends the whole batch: partitions that took their part get it again
    expect(firstWave).toBe('quiet');

    const parkedFirst = await outboxOf(BIG_KEY);
    expect(parkedFirst.length).toBeGreaterThan(0);
    expect(parkedFirst[0]).toEqual({ version: 1, parked: true, parked_reason: expect.stringMatching(/^MESSAGE_TOO_LARGE: /) });

    // Later events: every learner completes a lesson. Other keys flow on; the refused key's new
    // version is held behind its parked version 1 instead of being published past the gap.
    await p.produce(USERS.map((u) => events.lessonCompleted({ course_id: COURSE, lesson_id: 1, user_id: u }, { time: at(), id: `done-${u}` })));
    expect(await settle()).toBe('quiet');
    expect(duplicates()).toEqual([]);

    const projected = await projectedVersions();
    const held = await outboxOf(BIG_KEY);
    expect(held.map((r) => r.version)).toEqual(Array.from({ length: projected.get(BIG_KEY)! }, (_, i) => i + 1));
    expect(projected.get(BIG_KEY)).toBeGreaterThan(1);
    expect(held.slice(1)).toEqual(held.slice(1).map((r) => ({ version: r.version, parked: true, parked_reason: 'held behind parked version 1' })));
    expect(versionsOf(BIG_KEY)).toEqual([]);

    for (const u of USERS.filter((x) => x !== BIG_USER)) {
      const key = `${COURSE}:${u}`;
      const expected = Array.from({ length: projected.get(key)! }, (_, i) => i + 1);
      expect({ key, versions: versionsOf(key) }).toEqual({ key, versions: expected });
      expect(expected.length).toBeGreaterThan(1);
    }
    // Every event is where the relay's partitioner put it.
    for (const [key, list] of p.outputs) {
      for (const o of list) expect({ key, partition: o.partition }).toEqual({ key, partition: partitionForKey(key, p.config.topics.partitions) });
    }

    await eventually(async () => ((await gauge((m) => m.outboxParked)) === held.length ? true : undefined), 'the parked gauge');
    expect(await gauge((m) => m.outboxPending)).toBe(0);
    const outbox = new OutboxRepository();
    expect([await outbox.pendingCount(p.ds), await outbox.parkedCount(p.ds), await outbox.oldestPendingAgeSeconds(p.ds)]).toEqual([0, held.length, 0]);

    const out = new Captured();
    expect(await main(['parked'], out, { config: p.config })).toBe(0);
    const lines = out.text.split('\n');
    expect(lines[0]).toMatch(/enrollment id\s+version\s+type\s+bytes\s+parked at\s+reason/);
    expect(lines[1]).toMatch(new RegExp(`^${BIG_KEY}\\s+1\\s+lms\\.course_enrollment\\.created\\s+\\d{2},\\d{3}\\s+\\S+\\s+MESSAGE_TOO_LARGE: `));
    expect(lines[2]).toMatch(new RegExp(`^${BIG_KEY}\\s+2\\s+lms\\.course_enrollment\\.updated\\s+\\d{2},\\d{3}\\s+\\S+\\s+held behind parked version 1$`));
    expect(out.text).toContain(`${held.length} parked event(s)`);
    expect(out.text).not.toContain('field_0'); // never the payload
  });

  it('ops parked --republish, after the topic is raised, publishes the held versions in order, once each', async () => {
    await setTopicLimit(2 * 1024 * 1024);
    const heldCount = (await outboxOf(BIG_KEY)).length;

    const out = new Captured();
    expect(await main(['parked', '--republish', '--id', BIG_KEY], out, { config: p.config })).toBe(0);
    expect(out.text).toContain(`ops: ${heldCount} parked event(s) of 1 enrollment(s) moved back to pending: ${BIG_KEY} v1..v${heldCount}`);

    expect(await settle()).toBe('quiet');
    expect(versionsOf(BIG_KEY)).toEqual(Array.from({ length: heldCount }, (_, i) => i + 1));
    expect(duplicates()).toEqual([]);
    expect(p.versionsGapless()).toEqual([]);
    expect(await p.oracle()).toEqual([]);
    expect(await outboxOf(BIG_KEY)).toEqual([]);
    await eventually(async () => ((await gauge((m) => m.outboxParked)) === 0 ? true : undefined), 'the parked gauge back to 0');
    // Each published event was timed once, from its insert to the broker's ack.
    const latency = await p.inProcessWorker!.get(PipelineMetrics).relayPublishSeconds.get();
    const published = [...p.outputs.values()].reduce((n, list) => n + list.length, 0);
    expect(latency.values.find((v) => v.metricName === 'enrollment_sync_relay_publish_seconds_count')?.value).toBe(published);

    const after = new Captured();
    expect(await main(['parked'], after, { config: p.config })).toBe(0);
    expect(after.text).toBe('ops: no parked events\n');
  });

  it('ops parked checks its options and says when an enrollment has nothing parked', async () => {
    const run = async (...args: string[]): Promise<[number, string]> => {
      const out = new Captured();
      return [await main(['parked', ...args], out, { config: p.config }), out.text.split('\n')[0]];
    };
    expect(await run('--id', '42')).toEqual([2, 'ops: --id must be an enrollment id "{course_id}:{user_id}", got "42"']);
    expect(await run('--republish=yes')).toEqual([2, 'ops: --republish takes no value']);
    expect(await run('--course', '42')).toEqual([2, 'ops: unknown option --course']);
    expect(await run('--republish', '--id', '42:999')).toEqual([1, 'ops: no parked events of 42:999']);
    expect(await run('--id', '42:999')).toEqual([0, 'ops: no parked events of 42:999']);
  });

  it('what the relay relies on: the broker refuses a whole partition batch, kafkajs throws after appending the other partitions', async () => {
    const topic = `h-relay-refusals.${p.config.runId}`;
    const admin = p.kafka.admin();
    await admin.connect();
    const producer = p.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    const appended = async (before: { partition: number; offset: string }[]): Promise<number[]> =>
      (await admin.fetchTopicOffsets(topic))
        .sort((a, b) => a.partition - b.partition)
        .map((a) => Number(a.offset) - Number(before.find((b) => b.partition === a.partition)!.offset));
    const attempt = async (messages: { value: string; partition: number }[]): Promise<{ refusal: string | undefined; appended: number[] }> => {
      const before = await admin.fetchTopicOffsets(topic);
      const refusal = await producer.send({ topic, acks: -1, messages }).then(
        () => undefined,
        (err: unknown) => (isRecordRefused(err) ? recordRefusal(err) : `not a refusal: ${String(err)}`),
      );
      return { refusal, appended: await appended(before) };
    };
    const small = (partition: number) => ({ value: 's'.repeat(200), partition });
    const big = (partition: number) => ({ value: 'B'.repeat(TOPIC_LIMIT + 100), partition });
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_LIMIT) }] }],
        waitForLeaders: true,
      });
      await producer.connect();
      const tooLarge = expect.stringMatching(/^MESSAGE_TOO_LARGE: /);
      // One record over the limit fails its partition's whole batch, small records included.
      expect(await attempt([small(0), big(0), small(0)])).toEqual({ refusal: tooLarge, appended: [0, 0] });
      // So does a batch of small records that is over the limit only together.
      expect(await attempt(Array.from({ length: 60 }, () => small(0)))).toEqual({ refusal: tooLarge, appended: [0, 0] });
      // The same producer then sends that partition again (its sequence numbers stay right).
      expect(await attempt(Array.from({ length: 20 }, () => small(0)))).toEqual({ refusal: undefined, appended: [20, 0] });
      // One request over two partitions: partition 0 is appended, yet the send throws for partition 1.
      expect(await attempt([small(0), big(1), small(0)])).toEqual({ refusal: tooLarge, appended: [2, 0] });
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('the partition the relay computes is the one the broker assigns with the default partitioner', async () => {
    const topic = `h-relay-partitions.${p.config.runId}`;
    const admin = p.kafka.admin();
    await admin.connect();
    const producer = p.kafka.producer({ allowAutoTopicCreation: false });
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 7 }], waitForLeaders: true });
      await producer.connect();
      const keys = Array.from({ length: 60 }, (_, i) => `${1000 + i * 37}:${i * 7919 + 1}`);
      const assigned: [string, number][] = [];
      for (const key of keys) {
        const [meta] = await producer.send({ topic, acks: -1, messages: [{ key, value: 'x' }] });
        assigned.push([key, meta.partition]);
      }
      expect(assigned).toEqual(keys.map((k) => [k, partitionForKey(k, 7)]));
      expect(new Set(assigned.map(([, partition]) => partition)).size).toBe(7);
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});
