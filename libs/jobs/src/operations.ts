import { createHash } from 'node:crypto';
import { jobId } from './job-queue.port';

/** Data and ids of the operator-started jobs, shared by the jobs worker and the ops CLI. */
export interface ReplayJobData {
  topic: string;
  fromOffset?: number;
  /** ms since epoch */
  fromTimestamp?: number;
}

export interface ProgressPayload {
  done: number;
  total: number;
  [detail: string]: number;
}

export const DEADLINE_SWEEP_EVERY_MS = 30_000;
export const DEADLINE_SWEEP_SCHEDULER_ID = 'deadline-sweep-every-30s';

/**
 * The same replay asked twice within the same minute is one job; a later request is a new one
 * (a replay is meant to be repeatable after a fix).
 */
export function replayJobId(data: ReplayJobData, at = new Date()): string {
  const what = createHash('sha1')
    .update(JSON.stringify([data.topic, data.fromOffset ?? null, data.fromTimestamp ?? null]))
    .digest('hex');
  return jobId('replay', what.slice(0, 12), at.toISOString().slice(0, 16).replace(/[-T:]/g, ''));
}

/** One rebuild per minute at most, however often it is asked for. */
export function rebuildJobId(at = new Date()): string {
  return jobId('rebuild', at.toISOString().slice(0, 16).replace(/[-T:]/g, ''));
}
