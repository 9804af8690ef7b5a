import { Inject, Injectable } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import { Kafka } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import {
  BullMqJobQueue,
  DEADLINE_SWEEP_EVERY_MS,
  DEADLINE_SWEEP_SCHEDULER_ID,
  JOB_QUEUE,
  ProgressPayload,
  QUEUES,
  QueueKey,
  ReplayJobData,
  workerOptions,
} from '@app/jobs';
import { TopicReplay } from '@app/messaging';
import { DeadlineSweep, InputApplier, Rebuild } from '@app/projection';

/** How often the jobs worker re-registers the sweep's schedule (see `scheduleSweep`). */
export const SWEEP_SCHEDULE_REFRESH_MS = Symbol('SWEEP_SCHEDULE_REFRESH_MS');

/**
 * The deadline sweep (every 30 s, so a passed `due_at` or `access_expires_at` is republished
 * within 60 s), operator-started rebuilds, and operator-started replays. Each is one BullMQ
 * worker; progress is reported as {done, total, ...} for the dashboard and the ops CLI.
 */
@Injectable()
export class OperationProcessors {
  private readonly workers: Worker[] = [];
  private wake?: () => void;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(JOB_QUEUE) private readonly queue: BullMqJobQueue,
    private readonly kafka: Kafka,
    private readonly sweep: DeadlineSweep,
    private readonly rebuild: Rebuild,
    private readonly applier: InputApplier,
    private readonly logger: PinoLogger,
    @Inject(SWEEP_SCHEDULE_REFRESH_MS) private readonly refreshMs: number,
  ) {
    logger.setContext(OperationProcessors.name);
  }

  start(): Worker[] {
    if (this.workers.length > 0) return this.workers;
    this.workers.push(
      this.worker('deadlineSweep', async () => this.sweep.run()),
      this.worker('rebuild', async (job) =>
        this.rebuild.run((p) => job.updateProgress({ done: p.done, total: p.total, published: p.published } satisfies ProgressPayload)),
      ),
      this.worker('replay', async (job: Job<ReplayJobData>) => {
        const replay = new TopicReplay(this.kafka, this.config.topics, (events) => this.applier.apply(events));
        return replay.run(job.data, `${this.config.kafka.groupId}-replay-${job.id}`, async (p, invalid) => {
          for (const reason of invalid) this.logger.warn({ jobId: job.id, reason }, 'replay: message still invalid');
          await job.updateProgress({ done: p.read, total: p.total, applied: p.applied, duplicate: p.duplicate, noop: p.noop, invalid: p.invalid } satisfies ProgressPayload);
        });
      }),
    );
    return this.workers;
  }

  /**
   * Registers the sweep's schedule, then re-registers it every `refreshMs` for as long as the
   * workers run. Redis keeps nothing on disk: after it restarts (or otherwise loses its data) the
   * scheduler is gone, and only a new upsert brings it back. Re-upserting an unchanged `every`
   * scheduler is a no-op for the schedule (BullMQ 6 `addJobScheduler`: the pending job is
   * replaced by one at the same instant with the same id; if it is already running, the next
   * slot is added once and the worker's own iteration then sees it and adds nothing). Failures
   * (Redis away, at boot or later) are retried with backoff, so the worker boots and the other
   * queues run meanwhile. Returns when the processors close.
   */
  async scheduleSweep(): Promise<void> {
    let attempt = 0;
    while (this.workers.length > 0) {
      try {
        await this.queue.queue('deadlineSweep').upsertJobScheduler(
          DEADLINE_SWEEP_SCHEDULER_ID,
          { every: DEADLINE_SWEEP_EVERY_MS },
          { name: 'sweep', opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 1000 } } },
        );
        attempt = 0;
        await this.pause(this.refreshMs);
      } catch (err) {
        if (this.workers.length === 0) return; // shutting down
        this.logger.warn({ err, attempt }, 'could not register the deadline sweep schedule; retrying');
        await this.pause(Math.min(1000 * 2 ** attempt, 30000));
        attempt++;
      }
    }
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    this.wake?.();
    await Promise.all(workers.map((w) => w.close()));
  }

  /** Sleeps `ms`, or until `close()`. */
  private async pause(ms: number): Promise<void> {
    if (this.workers.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      this.wake = resolve;
    });
    clearTimeout(timer);
    this.wake = undefined;
  }

  private worker<T>(key: QueueKey, fn: (job: Job<T>) => Promise<unknown>): Worker {
    const w = new Worker<T>(QUEUES[key].name, fn, workerOptions(this.config, { concurrency: 1 }));
    w.on('failed', (job, err) => this.logger.error({ err, queue: QUEUES[key].name, jobId: job?.id }, 'job failed'));
    w.on('error', (err) => this.logger.error({ err, queue: QUEUES[key].name }, 'worker error'));
    return w;
  }
}
