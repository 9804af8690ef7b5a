import { Inject, Injectable } from '@nestjs/common';
import { BullMqJobQueue, JOB_QUEUE } from '@app/jobs';
import { Readiness, ReadinessCheck } from '@app/observability';
import { JobsWorkerLifecycle } from '../jobs-worker.lifecycle';

/** How long Redis may take to answer before the worker counts as not ready. */
const REDIS_TIMEOUT_MS = 2000;
/** The probe key outlives a few readiness periods, then goes by itself. */
const PROBE_TTL_MS = 60_000;

/**
 * The jobs worker is ready when Redis accepts a write and each of its queue workers runs. The
 * probe is a small SET (under the queue prefix, expiring by itself) through a producer queue:
 * a Redis that answers reads but refuses writes (`OOM command not allowed` at `maxmemory` with
 * `noeviction`) runs no job, since taking, progressing and finishing a job are all writes, and
 * readiness says so with Redis's own error.
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
      const q = this.queue.queue('deadlineSweep');
      await Promise.race([
        q.getBackend().client.then((client) => client.set(`${q.opts.prefix ?? 'bull'}:jobs-worker:write-probe`, String(Date.now()), { PX: PROBE_TTL_MS })),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      reasons.push(/^(OOM|READONLY|MISCONF|NOPERM)\b/.test(message) ? `Redis refuses writes: ${message}` : `Redis does not answer: ${message}`);
    } finally {
      clearTimeout(timer);
    }
    return { ready: reasons.length === 0, reasons, details: { workers } };
  }
}
