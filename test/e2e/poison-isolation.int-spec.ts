/**
 * The sync worker never stalls on a message, on the real Kafka and Postgres. Messages that pass
 * the contract but are refused when applied (a value Postgres will not store, nesting that
 * overflows a stack, a key too long for an index) are isolated by bisecting their slice and
 * dead-lettered once, while their neighbours on the same partition are applied and the group's
 * lag returns to 0. The contract may come to refuse some of them at decode time: these tests
 * assert the outcome (dead-lettered once with a reason, neighbours applied, lag 0), not the
 * stage, except where a trigger makes Postgres refuse a message the contract accepts.
 */
import { clock, events, InputMessage } from '@app/workload';
import { lagProblems, notInInbox, STORE_REFUSED } from '../support/hostile-inputs';
import { Pipeline, RawInput, startPipeline } from '../support/pipeline';

const tick = clock('2026-11-20T09:00:00.000Z');
let n = 0;
const nextId = (prefix: string) => `${prefix}-${++n}`;
const o = (prefix = 'ok') => ({ time: tick(1000), id: nextId(prefix), source: '/poison-isolation' });

/** `count` valid membership messages moved onto `at`'s topic and key, so they share its partition. */
const neighbours = (at: Pick<RawInput, 'topic' | 'key'>, courseId: number, firstUser: number, count: number): RawInput[] =>
  Array.from({ length: count }, (_, i) => ({
    ...events.membershipChanged({ course_id: courseId, user_id: firstUser + i, join_status: 'joined' }, o()),
    topic: at.topic,
    key: at.key,
  }));

const valueOf = (m: RawInput) => (m.value === null ? null : Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value, 'utf8'));
const sameBytes = (a: Buffer | null, b: Buffer | null) => (a === null || b === null ? a === b : Buffer.compare(a, b) === 0);

describe('sync worker isolates poison messages (real Kafka and Postgres)', () => {
  let p: Pipeline;
  /** Every valid message produced so far: the projection must equal their fold. */
  const valid: RawInput[] = [];

  beforeAll(async () => {
    p = await startPipeline({ recompute: 'inline' });
  }, 60_000);
  afterAll(async () => p?.stop(), 60_000);

  it.each(STORE_REFUSED.map((h, i) => [h.name, h, 7000 + i] as const))(
    '%s, between valid messages on its partition: dead-lettered once with a reason, neighbours applied, lag 0',
    async (_name, h, courseId) => {
      const bad = h.build(nextId('hostile'), courseId, tick(1000));
      const before = neighbours(bad, courseId, 1, 3);
      const after = neighbours(bad, courseId, 10, 3);
      const dlqBefore = p.deadLetters.length;

      await p.produce([...before, bad, ...after]);
      valid.push(...before, ...after);
      await p.waitQuiet({ timeoutMs: 45_000 });

      const letters = p.deadLetters.slice(dlqBefore);
      expect(letters).toHaveLength(1);
      expect(sameBytes(letters[0].value, valueOf(bad))).toBe(true);
      expect(letters[0].headers.dlq_reason).toMatch(/\S/);
      expect(letters[0].headers.dlq_topic).toBe(p.topicName(bad.topic));
      expect(await notInInbox(p, [...before, ...after])).toEqual([]);
      expect(await p.oracle(valid)).toEqual([]);
      expect(await lagProblems(p)).toEqual([]);
    },
    60_000,
  );

  it('dead-letters 520 invalid messages of ~8.8 KB on one partition (over the DLQ request limit) and applies later ones', async () => {
    const C = 7100;
    const key = `${C}:1`;
    const pad = 'x'.repeat(8800);
    const invalid: RawInput[] = Array.from({ length: 520 }, (_, i) => ({ topic: 'memberships', key, value: `not json #${i} ${pad}` }));
    const later = neighbours({ topic: 'memberships', key }, C, 1, 5);
    const dlqBefore = p.deadLetters.length;

    await p.produce([...invalid, ...later], { chunk: 100 });
    valid.push(...later);
    await p.waitQuiet({ timeoutMs: 90_000 });

    const letters = p.deadLetters.slice(dlqBefore);
    const numbers = new Set(letters.map((l) => /^not json #(\d+) /.exec(l.value?.toString() ?? '')?.[1]));
    expect(letters).toHaveLength(520);
    expect(numbers.size).toBe(520);
    for (const l of letters) expect(l.headers.dlq_reason).toMatch(/JSON/);
    expect(await notInInbox(p, later)).toEqual([]);
    expect(await p.oracle(valid)).toEqual([]);
    expect(await lagProblems(p)).toEqual([]);
  }, 120_000);

  it('bisects a slice: only the message Postgres refuses is dead-lettered (stage apply, the error as reason), every other is applied', async () => {
    // Given a store limit the contract does not know: a trigger that refuses one marked value
    const schema = p.config.database.schema;
    await p.ds.query(`
      CREATE FUNCTION "${schema}".refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.custom_fields ->> 'marker' = 'refuse-me' THEN
          RAISE EXCEPTION 'store limit: refused %', NEW.id USING ERRCODE = '54000';
        END IF;
        RETURN NEW;
      END $$`);
    await p.ds.query(`CREATE TRIGGER refuse_marked BEFORE INSERT ON "${schema}".membership_facts FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_marked()`);
    try {
      // When it sits among 40 valid messages of one partition, produced at once (one slice)
      const C = 7200;
      const key = `${C}:1`;
      const others = neighbours({ topic: 'memberships', key }, C, 1, 40);
      const markedId = nextId('marked');
      const marked: RawInput = {
        ...events.membershipChanged(
          { course_id: C, user_id: 500, join_status: 'joined', custom_fields: { marker: 'refuse-me' } },
          { time: tick(1000), id: markedId, source: '/poison-isolation' },
        ),
        topic: 'memberships',
        key,
      };
      const dlqBefore = p.deadLetters.length;
      await p.produce([...others.slice(0, 23), marked, ...others.slice(23)]);
      valid.push(...others);
      await p.waitQuiet({ timeoutMs: 45_000 });

      // Then exactly it is dead-lettered, at the apply stage, with Postgres's error
      const letters = p.deadLetters.slice(dlqBefore);
      expect(letters).toHaveLength(1);
      expect(sameBytes(letters[0].value, valueOf(marked))).toBe(true);
      expect(letters[0].headers.dlq_stage).toBe('apply');
      expect(letters[0].headers.dlq_reason).toContain(`store limit: refused ${markedId}`);
      expect(await notInInbox(p, others)).toEqual([]);
      expect(await notInInbox(p, [marked])).toHaveLength(1);
      expect(await p.oracle(valid)).toEqual([]);
      expect(await lagProblems(p)).toEqual([]);
    } finally {
      await p.ds.query(`DROP TRIGGER refuse_marked ON "${schema}".membership_facts`);
    }
  }, 60_000);

  it('retries a transient failure in place: nothing dead-lettered, all applied', async () => {
    // Given Postgres answering "cannot connect now" (57P03) to the first three attempts
    const schema = p.config.database.schema;
    await p.ds.query(`CREATE SEQUENCE "${schema}".flaky_attempts`);
    await p.ds.query(`
      CREATE FUNCTION "${schema}".flaky() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('"${schema}".flaky_attempts') <= 3 THEN
          RAISE EXCEPTION 'flaky: not now' USING ERRCODE = '57P03';
        END IF;
        RETURN NEW;
      END $$`);
    await p.ds.query(`CREATE TRIGGER flaky BEFORE INSERT ON "${schema}".progress_facts FOR EACH ROW EXECUTE FUNCTION "${schema}".flaky()`);
    try {
      const C = 7300;
      const msgs: InputMessage[] = [
        events.courseUpserted({ id: C, name: 'Flaky' }, o()),
        events.lessonUpserted(C, { id: 1, section_id: 1, name: 'L1', status: 'published', position: 1 }, o()),
        ...[1, 2, 3, 4].flatMap((u) => [
          events.membershipChanged({ course_id: C, user_id: u, join_status: 'joined' }, o()),
          events.lessonCompleted({ course_id: C, lesson_id: 1, user_id: u }, o()),
        ]),
      ];
      const dlqBefore = p.deadLetters.length;
      await p.produce(msgs);
      valid.push(...msgs);
      await p.waitQuiet({ timeoutMs: 45_000 });

      expect(p.deadLetters.slice(dlqBefore)).toEqual([]);
      const [{ n: attempts }] = await p.ds.query(`SELECT last_value::int AS n FROM "${schema}".flaky_attempts`);
      expect(attempts).toBeGreaterThan(3);
      expect(await notInInbox(p, msgs)).toEqual([]);
      expect(await p.oracle(valid)).toEqual([]);
      expect(await lagProblems(p)).toEqual([]);
    } finally {
      await p.ds.query(`DROP TRIGGER flaky ON "${schema}".progress_facts`);
    }
  }, 60_000);
});
