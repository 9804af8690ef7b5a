import type { DataSource } from 'typeorm';
import { inPipelineSpan, linksTo } from '@app/observability';
import { EnrollmentRepository, RecomputeRequest, RecomputeRequestRepository } from '@app/persistence';
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
    private readonly ds: DataSource,
    private readonly enrollments: EnrollmentRepository,
    private readonly requests: RecomputeRequestRepository,
    private readonly projector: EnrollmentProjector,
    private readonly chunkSize = 500,
  ) {}

  /**
   * Runs in a `recompute` span linked to the input event that requested it (its trace context is
   * stored with the request); the events it publishes carry that context to the output.
   */
  async run(courseId: number, onProgress?: (p: RecomputeProgress) => Promise<void> | void): Promise<RecomputeProgress & { completed: boolean }> {
    const request = await this.requests.find(this.ds, courseId);
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
    const [{ n }] = await this.ds.query(`SELECT count(*)::int AS n FROM enrollments WHERE course_id = $1`, [courseId]);
    progress.total = n;

    let after = 0;
    for (;;) {
      const keys = await this.enrollments.keysOfCourse(this.ds, courseId, after, this.chunkSize);
      if (keys.length === 0) break;
      const r = await this.ds.transaction((tx) =>
        this.projector.project(tx, keys.map((k) => ({ ...k, cause: request.cause, traceContext: request.traceContext }))),
      );
      after = keys[keys.length - 1].userId;
      progress.done += keys.length;
      progress.published += r.published;
      await onProgress?.({ ...progress });
    }
    const completed = await this.requests.complete(this.ds, courseId, request.generation);
    return { ...progress, completed };
  }
}
