import { Kafka, logLevel as KafkaLogLevel, LogEntry, Producer, ProducerConfig, RetryOptions } from 'kafkajs';
import type { AppConfig } from '@app/config';
import { checkKafkaTls, explainKafkaError, kafkaSaslOptions } from './kafka-security';
import { installKafkaRecordDecoding } from './record-decoding';
import { topicSpecs } from './topic-specs';

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

/** Retries of every client (admin, consumers, plain producers) unless it sets its own. */
export const CLIENT_RETRY = { initialRetryTime: 300, retries: 10 } as const satisfies RetryOptions;

/**
 * Retries of idempotent producers: retriable errors are retried without a limit (backoff as
 * for every client, capped by kafkajs's maxRetryTime); non-retriable ones still fail at once.
 * kafkajs 2.2.4 warns "Limiting retries for the idempotent producer may invalidate EoS
 * guarantees" whenever an idempotent producer's `retries` is below Number.MAX_SAFE_INTEGER
 * (it clamps nothing). `Kafka.producer()` always merges the client-wide retry into the
 * producer's, so kafkajs's own idempotent default (MAX_SAFE_INTEGER) never applied and these
 * producers gave up after CLIENT_RETRY's 10 attempts. Retrying on the same producer keeps its id
 * and sequence numbers, so the broker drops a batch that did land before the retry.
 */
export const IDEMPOTENT_PRODUCER_RETRY = { ...CLIENT_RETRY, retries: Number.MAX_SAFE_INTEGER } as const satisfies RetryOptions;

/** A kafkajs client whose idempotent producers get IDEMPOTENT_PRODUCER_RETRY (a producer's own `retry` wins). */
class ServiceKafka extends Kafka {
  override producer(config: ProducerConfig = {}): Producer {
    if (!config.idempotent) return super.producer(config);
    return super.producer({ ...config, retry: { ...IDEMPOTENT_PRODUCER_RETRY, ...config.retry } });
  }
}

/**
 * The one way the service makes a kafkajs client: its logs go through the service's structured
 * logger, and it connects with the TLS and SASL settings of the environment (KAFKA_SSL*,
 * KAFKA_SASL*), so every worker, the relay, dead letters, replay, the ops CLI, the demo and the
 * bench reach a managed cluster the same way, and read every codec and bounded headers the same
 * way (record-decoding.ts).
 */
export function createKafka(config: AppConfig, sink?: LogSink, clientSuffix = '', retry: RetryOptions = CLIENT_RETRY): Kafka {
  // Producers key by enrollment id with the v2 default partitioner; the warning about the
  // pre-v2 default is noise for a service that never used it.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  installKafkaRecordDecoding();
  return new ServiceKafka({
    clientId: `${config.kafka.clientId}${clientSuffix}`,
    brokers: config.kafka.brokers,
    ssl: config.kafka.ssl === false ? false : { ...config.kafka.ssl },
    ...(config.kafka.sasl ? { sasl: kafkaSaslOptions(config.kafka.sasl) } : {}),
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
    retry: { ...retry },
  });
}

/**
 * Boot check of the credentials and certificates, before any client connects: kafkajs retries a
 * certificate failure like a network error, for minutes, and the apps connect clients while they
 * are being built. A wrong CA or password stops boot here with a message naming the variable;
 * an unreachable broker does not (the clients' own retries deal with it, as without TLS).
 */
export async function verifyKafkaSecurity(config: AppConfig): Promise<void> {
  await checkKafkaTls(config);
  if (!config.kafka.sasl) return;
  const admin = createKafka(config, undefined, '-preflight', { retries: 0 }).admin();
  try {
    await admin.connect();
  } catch (err) {
    const explained = explainKafkaError(err, config);
    if (explained !== err) throw explained;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Fails fast on bad credentials or certificates, and with the names of missing topics: the
 * broker must not auto-create them with whatever partition count it defaults to.
 */
export async function assertTopicsExist(kafka: Kafka, config: AppConfig): Promise<void> {
  // The first connection at boot: a wrong certificate or password stops it at once, naming the
  // variable to fix, instead of kafkajs retrying what no retry can fix.
  await checkKafkaTls(config);
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (err) {
    throw explainKafkaError(err, config);
  }
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topicSpecs(config)
      .filter((s) => !existing.has(s.topic))
      .map((s) => s.topic);
    if (missing.length > 0) {
      throw new Error(`Kafka topics missing: ${missing.join(', ')} (run "npm run infra:up" or create them)`);
    }
  } finally {
    await admin.disconnect();
  }
}
