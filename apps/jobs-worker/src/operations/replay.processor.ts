import { Inject } from '@nestjs/common';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { Kafka } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ProgressPayload, QUEUES, ReplayJobData } from '@app/jobs';
import { TopicReplay } from '@app/messaging';
import { InputApplier } from '@app/projection';

/**
 * Runs operator-started replays of an input or dead-letter topic through the normal apply path,
 * in a consumer group of the job's own, reporting what it read, applied and found invalid.
 */
@Processor(QUEUES.replay.name, { concurrency: 1, autorun: false })
export class ReplayProcessor extends WorkerHost {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly kafka: Kafka,
    private readonly applier: InputApplier,
    private readonly logger: PinoLogger,
  ) {
    super();
    logger.setContext(ReplayProcessor.name);
  }

  async process(job: Job<ReplayJobData>): Promise<unknown> {
    const replay = new TopicReplay(this.kafka, this.config.topics, (events) => this.applier.apply(events), this.config.maxFutureSkewMs);
    return replay.run(job.data, `${this.config.kafka.groupId}-replay-${job.id}`, async (p, invalid) => {
      for (const reason of invalid) this.logger.warn({ jobId: job.id, reason }, 'replay: message still invalid');
      await job.updateProgress({ done: p.read, total: p.total, applied: p.applied, duplicate: p.duplicate, noop: p.noop, invalid: p.invalid } satisfies ProgressPayload);
    });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, err: Error): void {
    this.logger.error({ err, queue: QUEUES.replay.name, jobId: job?.id }, 'job failed');
  }

  /** Without a listener, a worker's connection error would be thrown as an unhandled 'error' event. */
  @OnWorkerEvent('error')
  onError(err: Error): void {
    this.logger.error({ err, queue: QUEUES.replay.name }, 'worker error');
  }
}
