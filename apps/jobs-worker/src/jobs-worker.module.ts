import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig, ConfigModule } from '@app/config';
import { BullMqJobQueue, DEADLINE_SWEEP_EVERY_MS, JOB_QUEUE } from '@app/jobs';
import { KafkaModule } from '@app/messaging';
import { LoggingModule, METRICS_PORT, MetricsEndpoint, MetricsModule, READINESS_CHECK } from '@app/observability';
import { PersistenceModule } from '@app/persistence';
import { ProjectionModule } from '@app/projection';
import { JobsWorkerReadiness } from './health/jobs-worker-readiness';
import { JobsWorkerLifecycle } from './jobs-worker.lifecycle';
import { OperationProcessors, SWEEP_SCHEDULE_REFRESH_MS } from './operations/operation-processors';
import { CourseRecomputeProcessor } from './recompute/course-recompute.processor';
import { RecomputeDispatcher } from './recompute/recompute-dispatcher';

@Module({
  imports: [ConfigModule, LoggingModule, MetricsModule, PersistenceModule, ProjectionModule, KafkaModule],
  providers: [
    { provide: JOB_QUEUE, inject: [APP_CONFIG], useFactory: (c: AppConfig) => new BullMqJobQueue(c) },
    { provide: METRICS_PORT, inject: [APP_CONFIG], useFactory: (c: AppConfig) => c.metricsPorts.jobsWorker },
    // A schedule lost with Redis's data is back within one sweep interval.
    { provide: SWEEP_SCHEDULE_REFRESH_MS, useValue: DEADLINE_SWEEP_EVERY_MS },
    JobsWorkerReadiness,
    { provide: READINESS_CHECK, useExisting: JobsWorkerReadiness },
    MetricsEndpoint,
    RecomputeDispatcher,
    OperationProcessors,
    CourseRecomputeProcessor,
    JobsWorkerLifecycle,
  ],
})
export class JobsWorkerModule {}
