import { Module } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { APP_CONFIG, AppConfig, ConfigModule } from '@app/config';
import { DeadLetterPublisher, KafkaModule } from '@app/messaging';
import { LoggingModule, METRICS_PORT, MetricsEndpoint, MetricsModule, READINESS_CHECK } from '@app/observability';
import { PersistenceModule } from '@app/persistence';
import { ProjectionModule } from '@app/projection';
import { InputSliceController } from './ingestion/input-slice.controller';
import { OutboxRelay } from './outbox/outbox-relay';
import { SyncWorkerReadiness } from './health/sync-worker-readiness';
import { SyncWorkerLifecycle } from './sync-worker.lifecycle';
import { KafkaBatchTransport } from './transport/kafka-batch-transport';

const DLQ_PRODUCER = Symbol('DLQ_PRODUCER');

/**
 * The sync worker, booted as a Nest microservice on KafkaBatchTransport (a provider here, so
 * the lifecycle and the readiness check share the instance the microservice listens with).
 */
@Module({
  imports: [ConfigModule, LoggingModule, MetricsModule, PersistenceModule, KafkaModule, ProjectionModule],
  controllers: [InputSliceController],
  providers: [
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
      useFactory: (producer: ConstructorParameters<typeof DeadLetterPublisher>[0], c: AppConfig) =>
        new DeadLetterPublisher(producer, c.topics.dlq),
    },
    { provide: METRICS_PORT, inject: [APP_CONFIG], useFactory: (c: AppConfig) => c.metricsPorts.syncWorker },
    SyncWorkerReadiness,
    { provide: READINESS_CHECK, useExisting: SyncWorkerReadiness },
    MetricsEndpoint,
    KafkaBatchTransport,
    OutboxRelay,
    SyncWorkerLifecycle,
  ],
})
export class SyncWorkerModule {}
