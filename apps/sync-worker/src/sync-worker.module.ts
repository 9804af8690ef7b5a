import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig, ConfigModule } from '@app/config';
import { DEAD_LETTER_PROVIDERS, KafkaModule } from '@app/messaging';
import { LoggingModule, METRICS_PORT, MetricsEndpoint, MetricsModule, READINESS_CHECK } from '@app/observability';
import { PersistenceModule } from '@app/persistence';
import { ProjectionModule } from '@app/projection';
import { InputSliceController } from './ingestion/input-slice.controller';
import { OutboxRelay } from './outbox/outbox-relay';
import { SyncWorkerReadiness } from './health/sync-worker-readiness';
import { SyncWorkerLifecycle } from './sync-worker.lifecycle';
import { KafkaBatchTransport } from './transport/kafka-batch-transport';

/**
 * The sync worker, booted as a Nest microservice on KafkaBatchTransport (a provider here, so
 * the lifecycle and the readiness check share the instance the microservice listens with).
 */
@Module({
  imports: [ConfigModule, LoggingModule.forRoot(), MetricsModule, PersistenceModule, KafkaModule, ProjectionModule],
  controllers: [InputSliceController],
  providers: [
    ...DEAD_LETTER_PROVIDERS,
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
