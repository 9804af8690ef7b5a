import { Inject, Injectable } from '@nestjs/common';
import { BullMqJobQueue, JOB_QUEUE } from '@app/jobs';
import { Readiness, ReadinessCheck } from '@app/observability';
import { JobsWorkerLifecycle } from '../jobs-worker.lifecycle';

/** How long Redis may take to answer before the worker counts as not ready. */
const REDIS_TIMEOUT_MS = 2000;

/**
 * The jobs worker is ready when Redis answers (a cheap read through a producer queue, which
 * fails fast instead of queueing while disconnected) and each of its queue workers runs.
 */
@Injectable()
export class JobsWorkerReadiness implements ReadinessCheck {
  constructor(
    @Inject(JOB_QUEUE) private readonly queue: BullMqJobQueue,
    private readonly lifecycle: JobsWorkerLifecycle,
  ) {}

  async check(): Promise<Readiness> {
    const reasons: string[] = [];
    const workers = this.lifecycle.workerStates();
    if (workers.length === 0) reasons.push('no queue worker is running');
    for (const w of workers) if (!w.running) reasons.push(`the worker of queue ${w.queue} is not running`);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.queue('deadlineSweep').getJobCounts('active'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      reasons.push(`Redis does not answer: ${(err as Error)?.message ?? String(err)}`);
    } finally {
      clearTimeout(timer);
    }
    return { ready: reasons.length === 0, reasons, details: { workers } };
  }
}
