import { Consumer, Kafka } from 'kafkajs';
import { isolatedConfig } from '../support/isolation';
import { createRunTopics, testKafka } from '../support/kafka';

/**
 * kafkajs 2.2.4 is unmaintained and was tested by its authors against old brokers; this proves
 * the parts the service relies on against the broker we run: produce, group consumption,
 * manual commits and resuming from the committed offset after a reconnect.
 */
describe('kafkajs round trip on the real broker', () => {
  const config = isolatedConfig();
  const topic = config.topics.courses;
  let kafka: Kafka;
  let dropTopics: () => Promise<void>;

  beforeAll(async () => {
    kafka = testKafka(config);
    dropTopics = await createRunTopics(config);
  });
  afterAll(async () => dropTopics());

  async function consumeUntil(count: number): Promise<{ consumer: Consumer; values: string[] }> {
    const consumer = kafka.consumer({ groupId: config.kafka.groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ message, partition }) => {
            values.push(message.value!.toString());
            await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
            if (values.length >= count) resolve();
          },
        })
        .catch(reject);
    });
    return { consumer, values };
  }

  it('produces, consumes in a group, commits, and resumes after the committed offset', async () => {
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${(from + i) % 3}`, value: `m${from + i}` }));

    await producer.send({ topic, messages: batch(0, 10) });
    const first = await consumeUntil(10);
    expect(first.values.sort()).toEqual(
      batch(0, 10)
        .map((m) => m.value)
        .sort(),
    );
    await first.consumer.disconnect();

    await producer.send({ topic, messages: batch(10, 5) });
    const second = await consumeUntil(5);
    // Give a wrongly rewound consumer the chance to show itself before asserting.
    await new Promise((r) => setTimeout(r, 500));
    await second.consumer.disconnect();
    await producer.disconnect();

    expect(second.values.sort()).toEqual(
      batch(10, 5)
        .map((m) => m.value)
        .sort(),
    );

    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: config.kafka.groupId, topics: [topic] });
    await admin.disconnect();
    const committed = offsets[0].partitions.reduce((sum, p) => sum + Number(p.offset === '-1' ? 0 : p.offset), 0);
    expect(committed).toBe(15);
  });
});
