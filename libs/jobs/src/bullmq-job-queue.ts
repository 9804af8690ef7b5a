import { JobsOptions, Queue } from 'bullmq';
import type { AppConfig } from '@app/config';
import { EnqueueOptions, JobQueuePort, JobStatus } from './job-queue.port';
import { QUEUES, QueueKey, redisConnection } from './queues';

/** Retries with exponential backoff; a bounded completed history; failed jobs are all kept. */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoffMs: 2000,
  removeOnComplete: { count: 1000, age: 7 * 24 * 3600 },
  removeOnFail: false,
} as const;

/** How long an enqueue may wait on Redis before it counts as failed. */
export const ENQUEUE_TIMEOUT_MS = 5000;

/**
 * BullMQ adapter of the queue port. Every add is bounded by a timeout, so an unreachable Redis
 * surfaces as a rejected enqueue instead of a promise that hangs. An add that still lands after
 * its timeout is harmless: ids are deterministic, so the retry finds the same job.
 *
 * Two ways to get one. `new BullMqJobQueue(config)` (the ops CLI, tests) creates and owns its
 * producer queues, whose connections do not queue commands while Redis is down
 * (`enableOfflineQueue: false`). `BullMqJobQueue.over(config, queues)` (the jobs worker) wraps the
 * queues `@nestjs/bullmq` registered, which Nest closes after the workers; `close()` leaves them.
 */
export class BullMqJobQueue implements JobQueuePort {
  private readonly queues = new Map<QueueKey, Queue>();

  constructor(
    private readonly config: AppConfig,
    private readonly timeoutMs = ENQUEUE_TIMEOUT_MS,
    private readonly provided?: ReadonlyMap<QueueKey, Queue>,
  ) {}

  /** An adapter over queues someone else owns (and closes): those of `BullModule.registerQueue`. */
  static over(config: AppConfig, queues: ReadonlyMap<QueueKey, Queue>, timeoutMs = ENQUEUE_TIMEOUT_MS): BullMqJobQueue {
    // While Redis is away each queue emits connection errors (BullMQ prints them unless someone
    // listens); they also reject the command in flight, and readiness reports them.
    for (const q of queues.values()) if (q.listenerCount('error') === 0) q.on('error', () => undefined);
    return new BullMqJobQueue(config, timeoutMs, queues);
  }

  /** The BullMQ queue behind a key (created on first use unless provided). */
  queue(key: QueueKey): Queue {
    if (this.provided) {
      const q = this.provided.get(key);
      if (!q) throw new Error(`no queue registered for ${QUEUES[key].name}`);
      return q;
    }
    let q = this.queues.get(key);
    if (!q) {
      q = new Queue(QUEUES[key].name, {
        connection: { ...redisConnection(this.config), maxRetriesPerRequest: 1, enableOfflineQueue: false },
        prefix: this.config.redis.queuePrefix,
      });
      // Connection errors also reject the add in flight; without a listener they would crash.
      q.on('error', () => undefined);
      this.queues.set(key, q);
    }
    return q;
  }

  async enqueue<T extends object>(key: QueueKey, name: string, data: T, opts: EnqueueOptions): Promise<{ id: string }> {
    const jobOpts: JobsOptions = {
      jobId: opts.jobId,
      attempts: opts.attempts ?? DEFAULT_JOB_OPTIONS.attempts,
      backoff: { type: 'exponential', delay: opts.backoffMs ?? DEFAULT_JOB_OPTIONS.backoffMs },
      removeOnComplete: { ...DEFAULT_JOB_OPTIONS.removeOnComplete },
      removeOnFail: DEFAULT_JOB_OPTIONS.removeOnFail,
    };
    const job = await this.bounded(this.queue(key).add(name, data, jobOpts), `enqueue on ${QUEUES[key].name}`);
    return { id: job.id ?? opts.jobId };
  }

  async status(key: QueueKey, id: string): Promise<JobStatus | undefined> {
    const q = this.queue(key);
    const job = await this.bounded(q.getJob(id), `reading job ${id} of ${QUEUES[key].name}`);
    if (!job) return undefined;
    const state = await this.bounded<JobStatus['state']>(job.getState(), `reading the state of job ${id}`);
    return { state, finishedOn: job.finishedOn, failedReason: job.failedReason || undefined, attemptsMade: job.attemptsMade };
  }

  private async bounded<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the queues this adapter created; provided queues are their owner's to close. */
  async close(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
  }
}
