/**
 * Dead letters always go out, on the real broker: the publisher reads the dead-letter topic's
 * `max.message.bytes` (describeConfigs), splits a set bigger than that into requests under it,
 * and truncates (and marks) a single letter bigger than it, instead of failing the whole send.
 */
import { Admin, Kafka, Producer } from 'kafkajs';
import { DEFAULT_MAX_MESSAGE_BYTES, DeadLetter, DeadLetterPublisher } from '@app/messaging';
import { isolatedConfig } from '../support/isolation';
import { testKafka } from '../support/kafka';

describe('DeadLetterPublisher on the real broker', () => {
  const config = isolatedConfig();
  const topic = config.topics.dlq;
  const LIMIT = 64 * 1024;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    kafka = testKafka(config);
    admin = kafka.admin();
    await admin.connect();
    // A DLQ topic with a small limit, so that a modest set of letters exceeds one request.
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: String(LIMIT) }] }],
      waitForLeaders: true,
    });
    producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  const letter = (i: number, valueBytes: number): DeadLetter => ({
    topic: 'lms.memberships.v1',
    partition: 4,
    message: { key: Buffer.from(`k-${i}`), value: Buffer.alloc(valueBytes, 0x61 + (i % 26)), headers: { trace: `t-${i}` }, offset: String(i) },
    reason: `letter ${i} is bad`,
  });

  async function readAll(expected: number) {
    const consumer = kafka.consumer({ groupId: `${config.kafka.groupId}-dlq-read`, sessionTimeout: 10000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: { key: string; value: Buffer; headers: Record<string, string> }[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
            got.push({ key: message.key!.toString(), value: message.value!, headers });
            if (got.length >= expected) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    return got;
  }

  it('reads the topic limit, splits a set over it into requests under it, and truncates a letter bigger than it', async () => {
    const publisher = new DeadLetterPublisher(producer, topic);
    expect(publisher.limitBytes).toBe(DEFAULT_MAX_MESSAGE_BYTES);
    expect(await publisher.readTopicLimit(kafka)).toBe(LIMIT);

    // 40 letters of 8 KiB (five times the limit together) and one of 200 KB (three times it alone)
    const letters = [
      ...Array.from({ length: 20 }, (_, i) => letter(i, 8 * 1024)),
      letter(20, 200_000),
      ...Array.from({ length: 20 }, (_, i) => letter(21 + i, 8 * 1024)),
    ];
    await publisher.send(letters);

    const got = await readAll(letters.length);
    expect(got.map((g) => g.key)).toEqual(letters.map((l) => l.message.key!.toString()));
    for (const [i, g] of got.entries()) {
      expect(g.headers).toMatchObject({ dlq_reason: `letter ${i} is bad`, dlq_stage: 'decode', dlq_offset: String(i), trace: `t-${i}` });
      if (i === 20) {
        expect(g.headers.dlq_truncated).toBe('200000');
        expect(g.value.length).toBeLessThan(LIMIT);
        expect(g.value.equals(letters[20].message.value!.subarray(0, g.value.length))).toBe(true);
      } else {
        expect(g.headers.dlq_truncated).toBeUndefined();
        expect(g.value.equals(letters[i].message.value!)).toBe(true);
      }
    }
  }, 60_000);

  it('keeps the 1 MiB fallback when the limit cannot be read', async () => {
    const publisher = new DeadLetterPublisher(producer, `${topic}.missing`);
    expect(await publisher.readTopicLimit(kafka)).toBe(DEFAULT_MAX_MESSAGE_BYTES);
  }, 60_000);
});
