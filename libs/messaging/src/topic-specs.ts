/**
 * Every topic the service reads or writes, as kafkajs `createTopics` specs: the one list that
 * the service's boot check, `ops topics`, the tests, the bench and `npm run infra:up` share.
 * Depends on nothing but the topic settings, so the infrastructure script can load it before
 * anything is built.
 */
import type { TopicsConfig } from '@app/config';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries: { name: string; value: string }[];
}

const maxMessageBytes = (bytes: number) => [{ name: 'max.message.bytes', value: String(bytes) }];

/** Every topic the service reads or writes, with the partition counts it expects. */
export function topicSpecs(config: { topics: TopicsConfig }, replicationFactor = 1): TopicSpec[] {
  const { topics: t } = config;
  return [
    ...[t.courses, t.memberships, t.lessonProgress, t.users, t.courseEnrollments].map((topic) => ({
      topic,
      numPartitions: t.partitions,
      replicationFactor,
      // A little over the 1 MiB contract limit, so oversize values reach the service and are
      // dead-lettered; the DLQ holds those copies plus headers.
      configEntries: maxMessageBytes(2 * 1024 * 1024),
    })),
    { topic: t.dlq, numPartitions: t.dlqPartitions, replicationFactor, configEntries: maxMessageBytes(4 * 1024 * 1024) },
  ];
}
