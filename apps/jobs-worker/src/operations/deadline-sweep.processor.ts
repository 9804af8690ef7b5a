import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { PinoLogger } from 'nestjs-pino';
import { QUEUES } from '@app/jobs';
import { DeadlineSweep } from '@app/projection';

/**
 * Runs the deadline sweep (scheduled every 30 s by DeadlineSweepSchedule, so a passed `due_at`
 * or `access_expires_at` is republished within 60 s).
 */
@Processor(QUEUES.deadlineSweep.name, { concurrency: 1, autorun: false })
export class DeadlineSweepProcessor extends WorkerHost {
  constructor(
    private readonly sweep: DeadlineSweep,
    private readonly logger: PinoLogger,
  ) {
    super();
    logger.setContext(DeadlineSweepProcessor.name);
  }

  async process(): Promise<{ swept: number; published: number }> {
    return this.sweep.run();
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, err: Error): void {
    this.logger.error({ err, queue: QUEUES.deadlineSweep.name, jobId: job?.id }, 'job failed');
  }

  /** Without a listener, a worker's connection error would be thrown as an unhandled 'error' event. */
  @OnWorkerEvent('error')
  onError(err: Error): void {
    this.logger.error({ err, queue: QUEUES.deadlineSweep.name }, 'worker error');
  }
}
