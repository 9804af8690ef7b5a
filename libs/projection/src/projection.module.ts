import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import {
  EnrollmentRepository,
  FactRepository,
  OutboxRepository,
  ProcessedEventsRepository,
  RecomputeRequestRepository,
} from '@app/persistence';
import { CourseRecompute } from './course-recompute';
import { DeadlineSweep } from './deadline-sweep';
import { Rebuild } from './rebuild';
import { EnrollmentProjector } from './enrollment-projector';
import { InputApplier } from './input-applier';

const repositories = [
  FactRepository,
  EnrollmentRepository,
  OutboxRepository,
  ProcessedEventsRepository,
  RecomputeRequestRepository,
];

@Global()
@Module({
  providers: [
    ...repositories.map((r) => ({ provide: r, useFactory: () => new r() })),
    {
      provide: EnrollmentProjector,
      inject: [FactRepository, EnrollmentRepository, OutboxRepository, APP_CONFIG],
      useFactory: (f: FactRepository, e: EnrollmentRepository, o: OutboxRepository, c: AppConfig) =>
        new EnrollmentProjector(f, e, o, c.courseUrlTemplate),
    },
    {
      provide: InputApplier,
      inject: [DataSource, ProcessedEventsRepository, FactRepository, EnrollmentRepository, RecomputeRequestRepository, EnrollmentProjector],
      useFactory: (...deps: ConstructorParameters<typeof InputApplier>) => new InputApplier(...deps),
    },
    {
      provide: CourseRecompute,
      inject: [DataSource, EnrollmentRepository, RecomputeRequestRepository, EnrollmentProjector],
      useFactory: (ds: DataSource, e: EnrollmentRepository, r: RecomputeRequestRepository, p: EnrollmentProjector) =>
        new CourseRecompute(ds, e, r, p),
    },
    {
      provide: DeadlineSweep,
      inject: [DataSource, EnrollmentRepository, EnrollmentProjector],
      useFactory: (ds: DataSource, e: EnrollmentRepository, p: EnrollmentProjector) => new DeadlineSweep(ds, e, p),
    },
    {
      provide: Rebuild,
      inject: [DataSource, EnrollmentProjector],
      useFactory: (ds: DataSource, p: EnrollmentProjector) => new Rebuild(ds, p),
    },
  ],
  exports: [...repositories, EnrollmentProjector, InputApplier, CourseRecompute, DeadlineSweep, Rebuild],
})
export class ProjectionModule {}
