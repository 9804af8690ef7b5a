import {
  ChunkedWalker,
  Database,
  EnrollmentRepository,
  FactRepository,
  FactRetractionRepository,
  OutboxRepository,
  OutputPartitions,
  ProcessedEventsRepository,
  RecomputeRequestRepository,
} from '@app/persistence';
import { CourseRecompute } from './course-recompute';
import { DeadlineSweep } from './deadline-sweep';
import { EnrollmentProjector } from './enrollment-projector';
import { FactRetraction } from './fact-retraction';
import { InputApplier } from './input-applier';
import { Rebuild } from './rebuild';

/** The projection's use cases and the repositories they share, wired once. */
export interface Projection {
  facts: FactRepository;
  enrollments: EnrollmentRepository;
  outbox: OutboxRepository;
  processed: ProcessedEventsRepository;
  recomputeRequests: RecomputeRequestRepository;
  projector: EnrollmentProjector;
  applier: InputApplier;
  recompute: CourseRecompute;
  sweep: DeadlineSweep;
  rebuild: Rebuild;
  retraction: FactRetraction;
}

/**
 * The one place the object graph is built: the Nest module provides its parts, and tests and
 * tools outside Nest call it directly, so they run exactly what the workers run. Without
 * `partitions`, outbox rows are written without their output partition and the relay assigns it.
 */
export function createProjection(db: Database, courseUrlTemplate: string, partitions?: OutputPartitions): Projection {
  const facts = new FactRepository();
  const enrollments = new EnrollmentRepository();
  const outbox = new OutboxRepository(partitions);
  const processed = new ProcessedEventsRepository();
  const recomputeRequests = new RecomputeRequestRepository();
  const projector = new EnrollmentProjector(facts, enrollments, outbox, courseUrlTemplate);
  const walker = new ChunkedWalker(db);
  return {
    facts,
    enrollments,
    outbox,
    processed,
    recomputeRequests,
    projector,
    applier: new InputApplier(db, processed, facts, enrollments, recomputeRequests, projector),
    recompute: new CourseRecompute(db, walker, enrollments, recomputeRequests, projector),
    sweep: new DeadlineSweep(walker, enrollments, projector),
    rebuild: new Rebuild(walker, enrollments, projector),
    retraction: new FactRetraction(db, new FactRetractionRepository(), processed, enrollments, recomputeRequests, projector),
  };
}
