import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { QUEUES } from '@app/jobs';
import { MetricsRegistry } from '@app/observability';
import { AdminQueues } from './admin-queues';

export const QUEUE_JOB_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized'] as const;
type State = (typeof QUEUE_JOB_STATES)[number];
/** BullMQ 6 has no 'paused' list: a paused queue keeps its jobs in 'waiting' and sets a flag. */
const COUNTED = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'] as const;
/** A scrape never waits longer than this on Redis; a queue that does not answer is left out. */
export const QUEUE_COUNTS_TIMEOUT_MS = 1000;

const within = <T>(p: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
};

/** `enrollment_sync_queue_jobs{queue, state}`, read from Redis on each scrape. */
@Injectable()
export class QueueMetrics implements OnModuleInit {
  constructor(
    private readonly registry: MetricsRegistry,
    private readonly admin: AdminQueues,
  ) {}

  onModuleInit(): void {
    if (this.registry.getSingleMetric('enrollment_sync_queue_jobs')) return;
    const queues = this.admin.queues;
    new Gauge({
      name: 'enrollment_sync_queue_jobs',
      help: 'Jobs per BullMQ queue and state (read from Redis at scrape time; absent while Redis is unreachable).',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        await Promise.all(
          [...queues].map(async ([key, q]) => {
            try {
              const [counts, paused] = await within(Promise.all([q.getJobCounts(...COUNTED), q.isPaused()]), QUEUE_COUNTS_TIMEOUT_MS);
              // As BullMQ 5 counted them: the waiting jobs of a paused queue are 'paused', not 'waiting'.
              const byState: Record<State, number> = {
                waiting: paused ? 0 : (counts.waiting ?? 0),
                paused: paused ? (counts.waiting ?? 0) : 0,
                active: counts.active ?? 0,
                delayed: counts.delayed ?? 0,
                completed: counts.completed ?? 0,
                failed: counts.failed ?? 0,
                prioritized: counts.prioritized ?? 0,
              };
              for (const state of QUEUE_JOB_STATES) this.set({ queue: QUEUES[key].name, state }, byState[state]);
            } catch {
              // Redis is down or slow: leave this queue out rather than fail the scrape.
            }
          }),
        );
      },
    });
  }
}
