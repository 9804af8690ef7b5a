import { getQueueToken } from '@nestjs/bullmq';
import { TestingModule } from '@nestjs/testing';
import { Queue } from 'bullmq';
import { JOB_QUEUE, JobQueuePort, QUEUES, queueOptions } from '@app/jobs';
import { createDataSource } from '@app/persistence';
import { CourseRecompute } from '@app/projection';
import { JobsWorkerLifecycle } from '../../apps/jobs-worker/src/jobs-worker.lifecycle';
import { DeadlineSweepProcessor } from '../../apps/jobs-worker/src/operations/deadline-sweep.processor';
import { RebuildProcessor } from '../../apps/jobs-worker/src/operations/rebuild.processor';
import { ReplayProcessor } from '../../apps/jobs-worker/src/operations/replay.processor';
import { CourseRecomputeProcessor } from '../../apps/jobs-worker/src/recompute/course-recompute.processor';
import { eventually } from '../support/eventually';
import { compileJobsWorker } from '../support/jobs-worker';
import { isolatedConfig } from '../support/isolation';

/**
 * The jobs worker drains as SIGTERM does it (`enableShutdownHooks` runs the same hooks as
 * `close()`): a job in flight finishes, every worker has closed before any queue closes, and the
 * queues `@nestjs/bullmq` registered carry the configured prefix.
 */
describe('jobs worker drain order (@nestjs/bullmq processors, real Redis)', () => {
  const config = isolatedConfig({ JOBS_WORKER_METRICS_PORT: '0' });
  let app: TestingModule | undefined;
  let observer: Queue;

  beforeAll(async () => {
    observer = new Queue(QUEUES.courseRecompute.name, queueOptions(config));
  });

  afterAll(async () => {
    await app?.close();
    await observer.obliterate({ force: true });
    await observer.close();
    const cleaner = await createDataSource(config.database).initialize();
    await cleaner.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await cleaner.destroy();
  });

  it('lets the job in flight finish and closes every worker before any queue', async () => {
    app = await compileJobsWorker(config);
    // Given a course recompute that holds until the test lets it go
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    jest.spyOn(app.get(CourseRecompute), 'run').mockImplementation(async () => {
      started = true;
      await held;
      return { courseId: 1, done: 0, total: 0, published: 0, completed: false };
    });
    await app.init();

    const order: string[] = [];
    for (const q of Object.values(QUEUES)) {
      const queue = app.get<Queue>(getQueueToken(q.name));
      expect(queue.opts.prefix).toBe(config.redis.queuePrefix);
      const close = queue.close.bind(queue);
      jest.spyOn(queue, 'close').mockImplementation(async () => {
        order.push(`queue ${q.name} closes`);
        return close();
      });
    }
    const workers = app.get(JobsWorkerLifecycle).workerStates();
    expect(workers.map((w) => w.queue).sort()).toEqual(['course-recompute', 'deadline-sweep', 'rebuild', 'replay']);
    expect(workers.every((w) => w.running)).toBe(true);
    for (const host of [CourseRecomputeProcessor, DeadlineSweepProcessor, RebuildProcessor, ReplayProcessor]) {
      const w = app.get(host).worker;
      w.on('closed', () => order.push(`worker ${w.name} closed`));
    }
    const worker = app.get(CourseRecomputeProcessor).worker;

    await app.get<JobQueuePort>(JOB_QUEUE).enqueue('courseRecompute', 'course-recompute', { courseId: 1, generation: 1, cause: null }, { jobId: 'course-1-g1' });
    await eventually(async () => (started ? true : undefined), 'the job to start');

    // When the worker is told to stop while the job runs
    const closing = app.close();
    app = undefined;
    try {
      await eventually(async () => (worker.closing && order.length >= 3 ? true : undefined), 'the idle workers to close');
      // the idle workers have closed; the busy one waits for its job, and no queue has closed
      expect(order.slice().sort()).toEqual(['worker deadline-sweep closed', 'worker rebuild closed', 'worker replay closed']);
      expect(worker.isRunning()).toBe(true);
    } finally {
      release();
      await closing;
    }

    // Then the job completed, and the worker closed before the first queue did
    expect(await (await observer.getJob('course-1-g1'))!.getState()).toBe('completed');
    const names = Object.values(QUEUES)
      .map((q) => q.name)
      .sort();
    expect(order.slice(0, 4).sort()).toEqual(names.map((n) => `worker ${n} closed`));
    expect(order.slice(4).sort()).toEqual(names.map((n) => `queue ${n} closes`));
  });
});
