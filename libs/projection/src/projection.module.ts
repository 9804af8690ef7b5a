import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import {
  Database,
  EnrollmentRepository,
  FactRepository,
  OutboxRepository,
  ProcessedEventsRepository,
  RecomputeRequestRepository,
} from '@app/persistence';
import { CourseRecompute } from './course-recompute';
import { createProjection, Projection } from './create-projection';
import { DeadlineSweep } from './deadline-sweep';
import { EnrollmentProjector } from './enrollment-projector';
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
];

@Global()
@Module({
  providers: [
    {
      provide: PROJECTION,
      inject: [Database, APP_CONFIG],
      useFactory: (db: Database, config: AppConfig) => createProjection(db, config.courseUrlTemplate),
    },
    ...parts.map(([cls, key]) => ({ provide: cls, inject: [PROJECTION], useFactory: (p: Projection) => p[key] })),
  ],
  exports: parts.map(([cls]) => cls),
})
export class ProjectionModule {}
