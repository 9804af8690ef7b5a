import type { RecomputeRequest } from '@app/persistence';

/** Name of the job on the course-recompute queue. */
export const COURSE_RECOMPUTE_JOB = 'course-recompute';

/** What the dispatcher puts in a course-recompute job: the request it was made for. */
export interface CourseRecomputeJobData {
  courseId: number;
  generation: number;
  cause: RecomputeRequest['cause'];
}

/** What the job reports as progress. */
export interface CourseRecomputeJobProgress {
  done: number;
  total: number;
  published: number;
}
