import { Kafka } from 'kafkajs';
import type { AppConfig } from '@app/config';
import { createKafka, topicSpecs } from '@app/messaging';

export function testKafka(config: AppConfig): Kafka {
  return createKafka(config, undefined, '-test');
}

/** Creates this run's topics (the broker never auto-creates) and returns a cleanup. */
export async function createRunTopics(config: AppConfig): Promise<() => Promise<void>> {
  const admin = testKafka(config).admin();
  await admin.connect();
  const specs = topicSpecs(config);
  await admin.createTopics({ topics: specs, waitForLeaders: true });
  return async () => {
    await admin.deleteTopics({ topics: specs.map((s) => s.topic) }).catch(() => undefined);
    await admin.disconnect();
  };
}
