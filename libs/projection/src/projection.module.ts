import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { partitionForKey } from '@app/messaging';
import {
  Database,
  EnrollmentRepository,
  FactRepository,
  OutboxRepository,
  OutputPartitions,
  ProcessedEventsRepository,
  RecomputeRequestRepository,
} from '@app/persistence';
import { CourseRecompute } from './course-recompute';
import { createProjection, Projection } from './create-projection';
import { DeadlineSweep } from './deadline-sweep';
import { EnrollmentProjector } from './enrollment-projector';
import { FactRetraction } from './fact-retraction';
import { InputApplier } from './input-applier';
import { Rebuild } from './rebuild';

const PROJECTION = Symbol('PROJECTION');

/** Each part of `createProjection`'s graph as a provider of its own class. */
const parts: [abstract new (...args: never[]) => unknown, keyof Projection][] = [
  [FactRepository, 'facts'],
  [EnrollmentRepository, 'enrollments'],
  [OutboxRepository, 'outbox'],
  [ProcessedEventsRepository, 'processed'],
  [RecomputeRequestRepository, 'recomputeRequests'],
  [EnrollmentProjector, 'projector'],
  [InputApplier, 'applier'],
  [CourseRecompute, 'recompute'],
  [DeadlineSweep, 'sweep'],
  [Rebuild, 'rebuild'],
  [FactRetraction, 'retraction'],
];

@Global()
@Module({
  providers: [
    // Starts from TOPIC_PARTITIONS; the relay updates it from the broker's metadata.
    { provide: OutputPartitions, inject: [APP_CONFIG], useFactory: (config: AppConfig) => new OutputPartitions(config.topics.partitions, partitionForKey) },
    {
      provide: PROJECTION,
      inject: [Database, APP_CONFIG, OutputPartitions],
      useFactory: (db: Database, config: AppConfig, partitions: OutputPartitions) => createProjection(db, config.courseUrlTemplate, partitions),
    },
    ...parts.map(([cls, key]) => ({ provide: cls, inject: [PROJECTION], useFactory: (p: Projection) => p[key] })),
  ],
  exports: [OutputPartitions, ...parts.map(([cls]) => cls)],
})
export class ProjectionModule {}
