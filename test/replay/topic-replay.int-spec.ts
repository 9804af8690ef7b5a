import { Kafka, Producer } from 'kafkajs';
import { DeadLetterPublisher, TopicReplay } from '@app/messaging';
import { clock, events, InputMessage } from '@app/workload';
import { createRunTopics, testKafka } from '../support/kafka';
import { projectionFixture } from '../support/projection';

describe('replay of an input topic and of the dead-letter topic', () => {
  let f: Awaited<ReturnType<typeof projectionFixture>>;
  let kafka: Kafka;
  let producer: Producer;
  let dropTopics: () => Promise<void>;
  let replay: TopicReplay;
  const t = clock('2026-11-02T08:00:00.000Z');
  let n = 0;
  const m = () => ({ time: t(1000), id: `r-${++n}` });
  const send = (msgs: InputMessage[]) => producer.send({ topic: f.config.topics.memberships, messages: msgs.map((x) => ({ key: x.key, value: x.value })) });

  beforeAll(async () => {
    f = await projectionFixture();
    kafka = testKafka(f.config);
    dropTopics = await createRunTopics(f.config);
    // Idempotent: a retried send on a broker that is still settling must not write a message twice.
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
    replay = new TopicReplay(kafka, f.config.topics, (evts) => f.applier.apply(evts));
  });
  afterAll(async () => {
    await producer.disconnect();
    await dropTopics();
    await f.close();
  });

  it('applies a topic from the beginning, reports poison, and is idempotent when run again', async () => {
    await send([1, 2, 3].map((u) => events.membershipChanged({ course_id: 1, user_id: u, join_status: 'joined' }, m())));
    await producer.send({ topic: f.config.topics.memberships, messages: [{ key: '1:9', value: 'not json' }] });

    const seen: number[] = [];
    const first = await replay.run({ topic: f.config.topics.memberships }, `replay-${f.config.runId}-1`, (p) => {
      seen.push(p.read);
    });
    expect(first).toMatchObject({ total: 4, read: 4, applied: 3, invalid: 1 });
    expect(seen.at(-1)).toBe(4);
    expect(await f.published('1:2')).toHaveLength(1);

    const again = await replay.run({ topic: f.config.topics.memberships }, `replay-${f.config.runId}-2`);
    expect(again).toMatchObject({ read: 4, applied: 0, duplicate: 3, invalid: 1 });
  });

  it('starts at a timestamp and stops at the end the topic had when the replay began', async () => {
    const cut = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await send([events.membershipChanged({ course_id: 1, user_id: 4, join_status: 'joined' }, m())]);
    const r = await replay.run({ topic: f.config.topics.memberships, fromTimestamp: cut }, `replay-${f.config.runId}-3`);
    expect(r).toMatchObject({ total: 1, read: 1, applied: 1 });
  });

  it('replays the dead-letter topic after a fix, decoding each message as from its original topic', async () => {
    const fixed = events.membershipChanged({ course_id: 1, user_id: 5, join_status: 'invited' }, m());
    const dlqProducer = kafka.producer({ idempotent: true });
    await dlqProducer.connect();
    await new DeadLetterPublisher(dlqProducer, f.config.topics.dlq).send([
      {
        topic: f.config.topics.memberships,
        partition: 0,
        message: { key: Buffer.from(fixed.key), value: Buffer.from(fixed.value), headers: {}, offset: '17' },
        reason: 'a rule since fixed',
      },
    ]);
    await dlqProducer.disconnect();

    const r = await replay.run({ topic: f.config.topics.dlq }, `replay-${f.config.runId}-4`);
    expect(r).toMatchObject({ read: 1, applied: 1, invalid: 0 });
    expect((await f.published('1:5'))[0].course_enrollment.status).toBe('assigned');
  });

  it('reports a message the store refuses as invalid, applies its neighbours, and goes on (no endless retry)', async () => {
    // Given a store limit the contract does not know: a trigger refusing one marked membership
    const schema = f.config.database.schema;
    await f.ds.query(`
      CREATE FUNCTION "${schema}".refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.custom_fields ->> 'marker' = 'refuse-me' THEN RAISE EXCEPTION 'store limit: refused %', NEW.id USING ERRCODE = '54000'; END IF;
        RETURN NEW;
      END $$`);
    await f.ds.query(`CREATE TRIGGER refuse_marked BEFORE INSERT ON "${schema}".membership_facts FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_marked()`);
    try {
      const cut = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      await send([
        events.membershipChanged({ course_id: 2, user_id: 1, join_status: 'joined' }, m()),
        events.membershipChanged({ course_id: 2, user_id: 2, join_status: 'joined', custom_fields: { marker: 'refuse-me' } }, m()),
        events.membershipChanged({ course_id: 2, user_id: 3, join_status: 'joined' }, m()),
      ]);

      // When the topic is replayed from then
      const invalid: string[] = [];
      const r = await replay.run({ topic: f.config.topics.memberships, fromTimestamp: cut }, `replay-${f.config.runId}-5`, (_p, reasons) => {
        invalid.push(...reasons);
      });

      // Then the refused one is reported with the store's error, the others are applied
      expect(r).toMatchObject({ total: 3, read: 3, applied: 2, invalid: 1 });
      expect(invalid).toHaveLength(1);
      expect(invalid[0]).toMatch(/refused when applied: store limit: refused r-\d+ \(SQLSTATE 54000\)/);
      expect(await f.published('2:1')).toHaveLength(1);
      expect(await f.published('2:3')).toHaveLength(1);
      expect(await f.published('2:2')).toHaveLength(0);
    } finally {
      await f.ds.query(`DROP TRIGGER refuse_marked ON "${schema}".membership_facts`);
    }
  }, 60_000);
});
