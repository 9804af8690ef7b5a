import { Inject, Injectable, Optional } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { courseRecomputeJobId, JOB_QUEUE, JobQueuePort } from '@app/jobs';
import { PgNotificationListener, RECOMPUTE_CHANNEL, RecomputeRequest, RecomputeRequestStore } from '@app/persistence';
import { COURSE_RECOMPUTE_JOB, CourseRecomputeJobData } from './recompute-job';

/** Fallback poll, for a missed NOTIFY, the listener being down or a failed enqueue. */
export const RECOMPUTE_POLL_MS = Symbol('RECOMPUTE_POLL_MS');
const DEFAULT_POLL_MS = 2000;
/** A request whose job was seen waiting or running is looked at again only after this long. */
const RECHECK_AFTER_MS = 10_000;
/**
 * How long after a job ended without completing its request the next attempt is enqueued, for
 * the first retry; it doubles with each attempt up to REATTEMPT_MAX_MS. The job has spent its own
 * retries by then (5, about 30 s of backoff); a failure that keeps coming back (a bug, a refused
 * row) is retried every few minutes, not in a loop, and never dropped.
 */
export const REATTEMPT_BASE_MS = 5_000;
export const REATTEMPT_MAX_MS = 5 * 60_000;

export function reattemptDelayMs(attempt: number): number {
  return Math.min(REATTEMPT_BASE_MS * 2 ** Math.max(0, attempt - 1), REATTEMPT_MAX_MS);
}

/**
 * Turns durable recompute requests (Postgres) into course-recompute jobs (BullMQ): one job per
 * request and attempt, id `course-{id}-g{generation}` then `…-a{attempt}` (see
 * courseRecomputeJobId), so enqueuing twice, from two dispatchers or after a crash, is one job.
 * It wakes on NOTIFY and polls as a fallback. Only the job completes a request: while Redis is
 * unreachable or refuses writes the rows stay in Postgres and a later round enqueues them. A
 * request stays owed until a job completes it, so each round looks at the job of every owed
 * request: none (never added, or lost with Redis's data) is enqueued again; one that ended
 * without completing the request (failed, its attempts spent against a full Redis) is followed,
 * after a delay, by the next attempt under a new id, counted in the request's row.
 */
@Injectable()
export class RecomputeDispatcher {
  private running = false;
  private loop?: Promise<void>;
  private unsubscribe?: () => void;
  private wake?: () => void;
  private woken = false;
  /** jobId → when this process last saw it enqueued and not yet ended. */
  private readonly live = new Map<string, number>();
  /** jobId → when this process first saw it ended without completing its request (when Redis does not say). */
  private readonly ended = new Map<string, number>();

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
   * One round: enqueues a job for every owed request that has none, or whose job ended without
   * completing it. Stops at the first failure (Redis is down or refuses writes; the rest would
   * fail too) and reports what it enqueued.
   */
  async dispatchOnce(): Promise<{ enqueued: number; failed: boolean }> {
    const pending = await this.requests.pending();
    const now = Date.now();
    const owed = new Set<string>();
    let enqueued = 0;
    for (const r of pending) {
      const id = courseRecomputeJobId(r);
      owed.add(id);
      const seen = this.live.get(id);
      if (seen !== undefined && now - seen < RECHECK_AFTER_MS) continue;
      let target: RecomputeRequest | undefined = r;
      try {
        target = await this.jobFor(r, id, now);
        if (!target) continue;
      } catch (err) {
        this.logger.error({ err, jobId: id, pending: pending.length }, 'reading the job of a recompute request failed; retrying on the next poll');
        return { enqueued, failed: true };
      }
      const targetId = courseRecomputeJobId(target);
      owed.add(targetId);
      const data: CourseRecomputeJobData = { courseId: target.courseId, generation: target.generation, cause: target.cause };
      try {
        await this.queue.enqueue('courseRecompute', COURSE_RECOMPUTE_JOB, data, { jobId: targetId });
      } catch (err) {
        this.logger.error({ err, jobId: targetId, pending: pending.length }, 'enqueue failed; requests stay in Postgres, retrying on the next poll');
        return { enqueued, failed: true };
      }
      this.live.set(targetId, now);
      enqueued++;
    }
    for (const id of this.live.keys()) if (!owed.has(id)) this.live.delete(id);
    for (const id of this.ended.keys()) if (!owed.has(id)) this.ended.delete(id);
    if (enqueued > 0) this.logger.info({ enqueued, pending: pending.length }, 'course recomputes enqueued');
    return { enqueued, failed: false };
  }

  /**
   * What to enqueue for an owed request: the request itself when Redis has no job by its id,
   * nothing while that job is still to run (or ended too recently for the next attempt), or the
   * request at its next attempt when the job ended without completing it.
   */
  private async jobFor(r: RecomputeRequest, id: string, now: number): Promise<RecomputeRequest | undefined> {
    const status = await this.queue.status('courseRecompute', id);
    if (!status) return r;
    if (status.state !== 'failed' && status.state !== 'completed' && status.state !== 'unknown') {
      this.live.set(id, now);
      return undefined;
    }
    // Ended, and the request is still owed: it was read before this job completed it, or the
    // job gave up. Waiting out the delay tells the two apart and spaces the attempts.
    let endedAt = status.finishedOn ?? this.ended.get(id);
    if (endedAt === undefined) this.ended.set(id, (endedAt = now));
    if (now - endedAt < reattemptDelayMs(r.attempt)) return undefined;
    const attempt = await this.requests.nextAttempt(r);
    if (attempt === undefined) return undefined;
    this.logger.warn(
      { jobId: id, state: status.state, attemptsMade: status.attemptsMade, failedReason: status.failedReason, courseId: r.courseId, generation: r.generation, attempt },
      'recompute job ended without completing its request; dispatching the next attempt',
    );
    return { ...r, attempt };
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
