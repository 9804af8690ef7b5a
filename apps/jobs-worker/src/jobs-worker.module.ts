import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { BullModule, getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { APP_CONFIG, AppConfig, ConfigModule } from '@app/config';
import { BullMqJobQueue, DEADLINE_SWEEP_EVERY_MS, JOB_QUEUE, QUEUES, QueueKey, queueOptions } from '@app/jobs';
import { KafkaModule } from '@app/messaging';
import { LoggingModule, METRICS_PORT, MetricsEndpoint, MetricsModule, READINESS_CHECK } from '@app/observability';
import { PersistenceModule } from '@app/persistence';
import { ProjectionModule } from '@app/projection';
import { JobsWorkerReadiness } from './health/jobs-worker-readiness';
import { JobsWorkerLifecycle } from './jobs-worker.lifecycle';
import { DeadlineSweepProcessor } from './operations/deadline-sweep.processor';
import { DeadlineSweepSchedule, SWEEP_SCHEDULE_REFRESH_MS } from './operations/deadline-sweep.schedule';
import { RebuildProcessor } from './operations/rebuild.processor';
import { ReplayProcessor } from './operations/replay.processor';
import { CourseRecomputeProcessor } from './recompute/course-recompute.processor';
import { RecomputeDispatcher } from './recompute/recompute-dispatcher';

const QUEUE_KEYS = Object.keys(QUEUES) as QueueKey[];

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forRoot(),
    MetricsModule,
    PersistenceModule,
    ProjectionModule,
    KafkaModule,
    DiscoveryModule,
    // The configured Redis and QUEUE_PREFIX for every queue, and so for every worker.
    BullModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (c: AppConfig) => queueOptions(c) }),
    BullModule.registerQueue(...QUEUE_KEYS.map((k) => ({ name: QUEUES[k].name }))),
  ],
  providers: [
    {
      provide: JOB_QUEUE,
      inject: [APP_CONFIG, ...QUEUE_KEYS.map((k) => getQueueToken(QUEUES[k].name))],
      useFactory: (c: AppConfig, ...queues: Queue[]) => BullMqJobQueue.over(c, new Map(QUEUE_KEYS.map((k, i) => [k, queues[i]]))),
    },
    { provide: METRICS_PORT, inject: [APP_CONFIG], useFactory: (c: AppConfig) => c.metricsPorts.jobsWorker },
    // A schedule lost with Redis's data is back within one sweep interval.
    { provide: SWEEP_SCHEDULE_REFRESH_MS, useValue: DEADLINE_SWEEP_EVERY_MS },
    JobsWorkerReadiness,
    { provide: READINESS_CHECK, useExisting: JobsWorkerReadiness },
    MetricsEndpoint,
    RecomputeDispatcher,
    DeadlineSweepSchedule,
    CourseRecomputeProcessor,
    DeadlineSweepProcessor,
    RebuildProcessor,
    ReplayProcessor,
    JobsWorkerLifecycle,
  ],
})
export class JobsWorkerModule {}
