import { Inject, Injectable, Optional } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { courseRecomputeJobId, JOB_QUEUE, JobQueuePort } from '@app/jobs';
import { PgNotificationListener, RECOMPUTE_CHANNEL, RecomputeRequestStore } from '@app/persistence';
import { COURSE_RECOMPUTE_JOB, CourseRecomputeJobData } from './recompute-job';

/** Fallback poll, for a missed NOTIFY, the listener being down or a failed enqueue. */
export const RECOMPUTE_POLL_MS = Symbol('RECOMPUTE_POLL_MS');
const DEFAULT_POLL_MS = 2000;
/** A request already enqueued is enqueued again (a no-op by job id) only after this long. */
const RESEND_AFTER_MS = 30_000;

/**
 * Turns durable recompute requests (Postgres) into course-recompute jobs (BullMQ): one job per
 * request, id `course-{id}-g{generation}` (see courseRecomputeJobId), so enqueuing twice, from two
 * dispatchers or after a crash, is one job. It wakes on NOTIFY and polls as a fallback. The
 * request rows are never touched here: the job completes them, so while Redis is unreachable
 * they stay in Postgres and the next round enqueues them.
 */
@Injectable()
export class RecomputeDispatcher {
  private running = false;
  private loop?: Promise<void>;
  private unsubscribe?: () => void;
  private wake?: () => void;
  private woken = false;
  /** jobId → when this process last enqueued it. */
  private readonly sent = new Map<string, number>();

  constructor(
    private readonly requests: RecomputeRequestStore,
    private readonly notifications: PgNotificationListener,
    @Inject(JOB_QUEUE) private readonly queue: JobQueuePort,
    private readonly logger: PinoLogger,
    @Optional() @Inject(RECOMPUTE_POLL_MS) private readonly pollMs: number = DEFAULT_POLL_MS,
  ) {
    logger.setContext(RecomputeDispatcher.name);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.notifications.subscribe(RECOMPUTE_CHANNEL, {
      notified: () => this.nudge(),
      // Back from an outage: requests notified meanwhile are pending.
      listenerDown: (down) => {
        if (!down) this.nudge();
      },
    });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /**
   * One round: enqueues every pending request not recently enqueued. Stops at the first
   * failure (Redis is down; the rest would fail too) and reports what it enqueued.
   */
  async dispatchOnce(): Promise<{ enqueued: number; failed: boolean }> {
    const pending = await this.requests.pending();
    const now = Date.now();
    const live = new Set<string>();
    let enqueued = 0;
    for (const r of pending) {
      const id = courseRecomputeJobId(r);
      live.add(id);
      const last = this.sent.get(id);
      if (last !== undefined && now - last < RESEND_AFTER_MS) continue;
      const data: CourseRecomputeJobData = { courseId: r.courseId, generation: r.generation, cause: r.cause };
      try {
        await this.queue.enqueue('courseRecompute', COURSE_RECOMPUTE_JOB, data, { jobId: id });
      } catch (err) {
        this.logger.error({ err, jobId: id, pending: pending.length }, 'enqueue failed; requests stay in Postgres, retrying on the next poll');
        return { enqueued, failed: true };
      }
      this.sent.set(id, now);
      enqueued++;
    }
    for (const id of this.sent.keys()) if (!live.has(id)) this.sent.delete(id);
    if (enqueued > 0) this.logger.info({ enqueued, pending: pending.length }, 'course recomputes enqueued');
    return { enqueued, failed: false };
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      try {
        await this.dispatchOnce();
      } catch (err) {
        this.logger.error({ err }, 'reading recompute requests failed; retrying');
      }
      if (this.running && !this.woken) await this.idle(this.pollMs);
    }
  }

  private nudge(): void {
    this.woken = true;
    this.wake?.();
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }
}
