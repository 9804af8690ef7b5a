import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { PinoLogger } from 'nestjs-pino';
import { ProgressPayload, QUEUES } from '@app/jobs';
import { Rebuild } from '@app/projection';

/** Runs operator-started rebuilds (`npm run ops -- rebuild`), reporting {done, total, published}. */
@Processor(QUEUES.rebuild.name, { concurrency: 1, autorun: false })
export class RebuildProcessor extends WorkerHost {
  constructor(
    private readonly rebuild: Rebuild,
    private readonly logger: PinoLogger,
  ) {
    super();
    logger.setContext(RebuildProcessor.name);
  }

  async process(job: Job): Promise<unknown> {
    return this.rebuild.run((p) => job.updateProgress({ done: p.done, total: p.total, published: p.published } satisfies ProgressPayload));
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, err: Error): void {
    this.logger.error({ err, queue: QUEUES.rebuild.name, jobId: job?.id }, 'job failed');
  }

  /** Without a listener, a worker's connection error would be thrown as an unhandled 'error' event. */
  @OnWorkerEvent('error')
  onError(err: Error): void {
    this.logger.error({ err, queue: QUEUES.rebuild.name }, 'worker error');
  }
}
