import type { QueueKey } from './queues';

/** Options every enqueue must give: the id makes a retried enqueue a no-op. */
export interface EnqueueOptions {
  /** Deterministic id (see `jobId`); the same id enqueued twice is one job. */
  jobId: string;
  attempts?: number;
  /** Base delay of the exponential backoff between attempts, in ms. */
  backoffMs?: number;
}

/**
 * The application's view of the job queue (Twenty-style port): producers name a queue and a
 * deterministic job id, and never see BullMQ. Rejects when the queue backend is unreachable,
 * so the caller can keep its durable record and retry.
 */
export interface JobQueuePort {
  enqueue<T extends object>(queue: QueueKey, name: string, data: T, opts: EnqueueOptions): Promise<{ id: string }>;
  /** Where a job stands; undefined when Redis has no job by that id (never added, removed, or lost with Redis's data). Rejects like `enqueue`. */
  status(queue: QueueKey, jobId: string): Promise<JobStatus | undefined>;
  close(): Promise<void>;
}

/** What a producer needs to know of a job it enqueued: whether it is still to run, and how it ended. */
export interface JobStatus {
  /** `unknown`: the job's record is there but it is in no state, so it will not run (nor can its id be added again). */
  state: 'waiting' | 'active' | 'delayed' | 'prioritized' | 'waiting-children' | 'completed' | 'failed' | 'unknown';
  /** ms since epoch, once completed or failed */
  finishedOn?: number;
  failedReason?: string;
  attemptsMade: number;
}

export const JOB_QUEUE = Symbol('JOB_QUEUE');

/**
 * A job id from its parts, joined with '-'. BullMQ 6 rejects custom ids that are integers or
 * contain ':' (it reserves ':' for its own keys), so both are refused here, at the producer.
 */
export function jobId(...parts: (string | number)[]): string {
  const id = parts.map(String).join('-');
  if (id.length === 0 || id.includes(':') || /^\d+$/.test(id)) {
    throw new Error(`invalid job id ${JSON.stringify(id)}: must be non-empty, not an integer, without ':'`);
  }
  return id;
}

/**
 * `course-{id}-g{generation}`, then `course-{id}-g{generation}-a{attempt}` from the second attempt
 * on: one course-recompute job per request and attempt. A course's generation only ever grows
 * (recompute_requests keeps the row and marks the completed generation), and a generation's
 * attempt is counted in that row, so the id is deterministic (the same request twice is one
 * job) and never reused by a later request or attempt.
 */
export function courseRecomputeJobId(req: { courseId: number; generation: number; attempt?: number }): string {
  const attempt = req.attempt ?? 1;
  return attempt > 1 ? jobId('course', req.courseId, `g${req.generation}`, `a${attempt}`) : jobId('course', req.courseId, `g${req.generation}`);
}
