import { Kafka, logLevel as KafkaLogLevel, LogEntry } from 'kafkajs';
import type { AppConfig } from '@app/config';

export interface LogSink {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

const LEVELS: Record<string, KafkaLogLevel> = {
  fatal: KafkaLogLevel.ERROR,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.WARN, // kafkajs INFO is chatty connection noise; surface it only on debug.
  debug: KafkaLogLevel.DEBUG,
  trace: KafkaLogLevel.DEBUG,
  silent: KafkaLogLevel.NOTHING,
};

/** kafkajs client whose logs go through the service's structured logger. */
export function createKafka(config: AppConfig, sink?: LogSink, clientSuffix = ''): Kafka {
  // Producers key by enrollment id with the v2 default partitioner; the warning about the
  // pre-v2 default is noise for a service that never used it.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  return new Kafka({
    clientId: `${config.kafka.clientId}${clientSuffix}`,
    brokers: config.kafka.brokers,
    logLevel: LEVELS[config.logLevel] ?? KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      if (!sink) return;
      const { message, ...extra } = entry.log;
      const fields = { component: 'kafkajs', namespace: entry.namespace, ...extra };
      if (entry.level <= KafkaLogLevel.ERROR) sink.error(fields, message);
      else if (entry.level === KafkaLogLevel.WARN) sink.warn(fields, message);
      else if (entry.level === KafkaLogLevel.INFO) sink.info(fields, message);
      else sink.debug(fields, message);
    },
    retry: { initialRetryTime: 300, retries: 10 },
  });
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries: { name: string; value: string }[];
}

const maxMessageBytes = (bytes: number) => [{ name: 'max.message.bytes', value: String(bytes) }];

/** Every topic the service reads or writes, with the partition counts it expects. */
export function topicSpecs(config: AppConfig, replicationFactor = 1): TopicSpec[] {
  const { topics: t } = config;
  return [
    ...[t.courses, t.memberships, t.lessonProgress, t.users, t.courseEnrollments].map((topic) => ({
      topic,
      numPartitions: t.partitions,
      replicationFactor,
      // A little over the 1 MiB contract limit, so oversize values reach the service and are
      // dead-lettered; the DLQ holds those copies plus headers. Same as scripts/infra.mjs.
      configEntries: maxMessageBytes(2 * 1024 * 1024),
    })),
    { topic: t.dlq, numPartitions: t.dlqPartitions, replicationFactor, configEntries: maxMessageBytes(4 * 1024 * 1024) },
  ];
}

/**
 * Fails fast with the names of missing topics: the broker must not auto-create them with
 * whatever partition count it defaults to.
 */
export async function assertTopicsExist(kafka: Kafka, config: AppConfig): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topicSpecs(config).filter((s) => !existing.has(s.topic)).map((s) => s.topic);
    if (missing.length > 0) {
      throw new Error(`Kafka topics missing: ${missing.join(', ')} (run "npm run infra:up" or create them)`);
    }
  } finally {
    await admin.disconnect();
  }
}
