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
  close(): Promise<void>;
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
 * `course-{id}-g{generation}`: one course-recompute job per request. A course's generation only
 * ever grows (recompute_requests keeps the row and marks the completed generation), so the id
 * is deterministic (the same request twice is one job) and never reused by a later request.
 */
export function courseRecomputeJobId(req: { courseId: number; generation: number }): string {
  return jobId('course', req.courseId, `g${req.generation}`);
}
