import { Global, Module, Provider } from '@nestjs/common';
import { Kafka, Producer } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { DeadLetterPublisher } from './dead-letters';
import { createKafka, verifyKafkaSecurity } from './kafka-client';

@Global()
@Module({
  providers: [
    {
      provide: Kafka,
      inject: [APP_CONFIG, PinoLogger],
      useFactory: async (config: AppConfig, logger: PinoLogger) => {
        await verifyKafkaSecurity(config);
        return createKafka(config, logger.logger);
      },
    },
  ],
  exports: [Kafka],
})
export class KafkaModule {}

const DLQ_PRODUCER = Symbol('DLQ_PRODUCER');

/**
 * A DeadLetterPublisher on its own idempotent producer, connected before the consumer starts.
 * Whoever provides it closes it once its consumer has stopped (the drain order).
 */
export const DEAD_LETTER_PROVIDERS: Provider[] = [
  {
    provide: DLQ_PRODUCER,
    inject: [Kafka],
    useFactory: async (kafka: Kafka) => {
      const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
      await producer.connect();
      return producer;
    },
  },
  {
    provide: DeadLetterPublisher,
    inject: [DLQ_PRODUCER, APP_CONFIG],
    useFactory: (producer: Producer, c: AppConfig) => new DeadLetterPublisher(producer, c.topics.dlq),
  },
];
