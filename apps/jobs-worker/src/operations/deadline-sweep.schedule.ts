import { Inject, Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { PinoLogger } from 'nestjs-pino';
import { DEADLINE_SWEEP_EVERY_MS, DEADLINE_SWEEP_SCHEDULER_ID, QUEUES } from '@app/jobs';

/**
 * The longest wait between two tries of a failed registration. Short: the sweep's promise (a
 * passed deadline shows within 60 s) runs from the moment Redis accepts writes again, and a
 * schedule lost meanwhile is only back once a registration gets through.
 */
const RETRY_MAX_MS = 5000;

/** How often the jobs worker re-registers the sweep's schedule (see `DeadlineSweepSchedule`). */
export const SWEEP_SCHEDULE_REFRESH_MS = Symbol('SWEEP_SCHEDULE_REFRESH_MS');

/**
 * Registers the deadline sweep's job scheduler (every 30 s), then re-registers it every
 * `refreshMs` until stopped. Redis keeps nothing on disk: after it restarts (or otherwise loses
 * its data) the scheduler is gone, and only a new upsert brings it back. Re-upserting an
 * unchanged `every` scheduler is a no-op for the schedule (BullMQ 6 `addJobScheduler`: the
 * pending job is replaced by one at the same instant with the same id; if it is already running,
 * the next slot is added once and the worker's own iteration then sees it and adds nothing).
 * Failures (Redis away or refusing writes, at boot or later) are retried with backoff of at most
 * RETRY_MAX_MS, so the worker boots and the other queues run meanwhile, and a schedule lost while
 * Redis was full is back within seconds of it accepting writes.
 */
@Injectable()
export class DeadlineSweepSchedule {
  private running = false;
  private wake?: () => void;

  constructor(
    @InjectQueue(QUEUES.deadlineSweep.name) private readonly queue: Queue,
    @Inject(SWEEP_SCHEDULE_REFRESH_MS) private readonly refreshMs: number,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(DeadlineSweepSchedule.name);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.keepRegistered();
  }

  /**
   * Stops re-registering. It does not wait for a registration in flight: while Redis is away
   * one waits for the connection, and closing the queue (after the workers) ends it.
   */
  stop(): void {
    this.running = false;
    this.wake?.();
  }

  private async keepRegistered(): Promise<void> {
    let attempt = 0;
    while (this.running) {
      try {
        await this.queue.upsertJobScheduler(
          DEADLINE_SWEEP_SCHEDULER_ID,
          { every: DEADLINE_SWEEP_EVERY_MS },
          { name: 'sweep', opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 1000 } } },
        );
        attempt = 0;
        await this.pause(this.refreshMs);
      } catch (err) {
        if (!this.running) return;
        this.logger.warn({ err, attempt }, 'could not register the deadline sweep schedule; retrying');
        await this.pause(Math.min(1000 * 2 ** attempt, RETRY_MAX_MS));
        attempt++;
      }
    }
  }

  /** Sleeps `ms`, or until `stop()`. */
  private async pause(ms: number): Promise<void> {
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      this.wake = resolve;
    });
    clearTimeout(timer);
    this.wake = undefined;
  }
}
