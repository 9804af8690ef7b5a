import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { PinoLogger } from 'nestjs-pino';
import { QUEUES } from '@app/jobs';
import { RecomputeRequestStore } from '@app/persistence';
import { CourseRecompute } from '@app/projection';
import { CourseRecomputeJobData, CourseRecomputeJobProgress } from './recompute-job';

/** Jobs of different courses run side by side; enrollments are locked per key by the projector. */
export const COURSE_RECOMPUTE_CONCURRENCY = 2;

export interface CourseRecomputeJobResult {
  courseId: number;
  done: number;
  total: number;
  published: number;
  /** Whether this run completed the request (false: a newer request remains, or none was left). */
  completed: boolean;
}

/**
 * Runs course-recompute jobs: re-derives every enrollment of the course from the current facts
 * and completes the request generation it read. A job whose generation is older than the row's
 * still runs (it derives from current facts and completes only the generation it read, so the
 * newer request keeps its own job); a job whose request is already gone is a no-op.
 * `autorun: false`: JobsWorkerLifecycle starts the worker once every processor is accounted for.
 */
@Processor(QUEUES.courseRecompute.name, { concurrency: COURSE_RECOMPUTE_CONCURRENCY, autorun: false })
export class CourseRecomputeProcessor extends WorkerHost {
  constructor(
    private readonly recompute: CourseRecompute,
    private readonly requests: RecomputeRequestStore,
    private readonly logger: PinoLogger,
  ) {
    super();
    logger.setContext(CourseRecomputeProcessor.name);
  }

  async process(job: Job<CourseRecomputeJobData, CourseRecomputeJobResult>): Promise<CourseRecomputeJobResult> {
    const { courseId, generation } = job.data;
    const current = await this.requests.find(courseId);
    if (current && current.generation > generation) {
      this.logger.debug({ jobId: job.id, courseId, generation, current: current.generation }, 'newer request pending; running anyway');
    }
    const r = await this.recompute.run(courseId, async (p) => {
      const progress: CourseRecomputeJobProgress = { done: p.done, total: p.total, published: p.published };
      await job.updateProgress(progress);
    });
    this.logger.info({ jobId: job.id, ...r }, 'course recompute done');
    return { courseId, done: r.done, total: r.total, published: r.published, completed: r.completed };
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, err: Error): void {
    this.logger.error({ err, jobId: job?.id, attemptsMade: job?.attemptsMade }, 'course recompute failed');
  }

  /** Without a listener, a worker's connection error would be thrown as an unhandled 'error' event. */
  @OnWorkerEvent('error')
  onError(err: Error): void {
    this.logger.error({ err }, 'course recompute worker error');
  }
}
