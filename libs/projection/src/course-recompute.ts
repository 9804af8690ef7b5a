import { inPipelineSpan, linksTo } from '@app/observability';
import { ChunkedWalker, Database, EnrollmentRepository, RecomputeRequest, RecomputeRequestRepository } from '@app/persistence';
import { EnrollmentProjector } from './enrollment-projector';

export interface RecomputeProgress {
  courseId: number;
  done: number;
  total: number;
  published: number;
}

/**
 * Re-derives every enrollment of a course after a structure change, one chunk per transaction,
 * so a course with 100k enrollments never holds a long transaction or a partition. The request
 * is completed only for the generation it started with: a change that arrives mid-run leaves a
 * newer request behind, and that one runs again.
 */
export class CourseRecompute {
  constructor(
    private readonly db: Database,
    private readonly walker: ChunkedWalker,
    private readonly enrollments: EnrollmentRepository,
    private readonly requests: RecomputeRequestRepository,
    private readonly projector: EnrollmentProjector,
  ) {}

  /**
   * Runs in a `recompute` span linked to the input event that requested it (its trace context is
   * stored with the request); the events it publishes carry that context to the output.
   */
  async run(courseId: number, onProgress?: (p: RecomputeProgress) => Promise<void> | void): Promise<RecomputeProgress & { completed: boolean }> {
    const request = await this.requests.find(this.db, courseId);
    const progress: RecomputeProgress = { courseId, done: 0, total: 0, published: 0 };
    if (!request) return { ...progress, completed: false };
    return inPipelineSpan(
      'recompute course',
      { links: linksTo([request.traceContext]), attributes: { 'enrollment_sync.course_id': courseId, 'enrollment_sync.generation': request.generation } },
      () => this.recompute(request, progress, onProgress),
      (r) => ({ 'enrollment_sync.derived': r.done, 'enrollment_sync.published': r.published }),
    );
  }

  private async recompute(
    request: RecomputeRequest,
    progress: RecomputeProgress,
    onProgress?: (p: RecomputeProgress) => Promise<void> | void,
  ): Promise<RecomputeProgress & { completed: boolean }> {
    const { courseId } = request;
    // The structure change that requested this committed before `find` read the request; a slice
    // still deriving a new enrollment of the course from the older structure holds the course
    // lock shared, so waiting for it here means the walk finds that enrollment.
    await this.db.transaction((tx) => this.enrollments.lockOwners(tx, [], [courseId], 'exclusive'));
    const walked = await this.walker.walk(
      this.enrollments.ofCourse(courseId),
      (tx, keys) =>
        this.projector.project(
          tx,
          keys.map((k) => ({ ...k, cause: request.cause, traceContext: request.traceContext })),
        ),
      async (p, chunk) => {
        progress.published += chunk.published;
        await onProgress?.({ ...progress, ...p });
      },
    );
    Object.assign(progress, walked);
    const completed = await this.requests.complete(this.db, courseId, request.generation);
    return { ...progress, completed };
  }
}
