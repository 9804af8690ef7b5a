import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Worker } from 'bullmq';
import { PinoLogger } from 'nestjs-pino';
import { JOB_QUEUE, JobQueuePort, QUEUES, QueueKey } from '@app/jobs';
import { OperationProcessors } from './operations/operation-processors';
import { CourseRecomputeProcessor } from './recompute/course-recompute.processor';
import { RecomputeDispatcher } from './recompute/recompute-dispatcher';

/**
 * The queues this worker processes. Boot fails unless each has exactly its worker registered
 * (Immich-style): a queue declared here without a processor, or a processor on a queue that
 * is not in QUEUES, is a wiring bug that must not wait for the first job to show up.
 */
export const PROCESSED_QUEUES: readonly QueueKey[] = ['courseRecompute', 'deadlineSweep', 'rebuild', 'replay'];

export function assertProcessorsRegistered(workers: ReadonlyMap<string, Worker>, processed: readonly QueueKey[] = PROCESSED_QUEUES): void {
  const known = new Set<string>(Object.values(QUEUES).map((q) => q.name));
  const unknown = [...workers.keys()].filter((name) => !known.has(name));
  const missing = processed.map((k) => QUEUES[k].name).filter((name) => !workers.has(name));
  if (unknown.length || missing.length) {
    throw new Error(
      `job processors misregistered: ${[
        missing.length ? `no worker for ${missing.join(', ')}` : '',
        unknown.length ? `worker on unknown queue ${unknown.join(', ')}` : '',
      ].filter(Boolean).join('; ')}`,
    );
  }
}

/**
 * Start and drain order of the jobs worker. Boot: the workers, checked against
 * PROCESSED_QUEUES, then the dispatcher that feeds them. Shutdown: the workers first (jobs in
 * flight finish), then the dispatcher, then the producer queues; the pools close after.
 */
@Injectable()
export class JobsWorkerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly workers = new Map<string, Worker>();

  constructor(
    private readonly courseRecompute: CourseRecomputeProcessor,
    private readonly dispatcher: RecomputeDispatcher,
    private readonly operations: OperationProcessors,
    @Inject(JOB_QUEUE) private readonly queue: JobQueuePort,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(JobsWorkerLifecycle.name);
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const w of [this.courseRecompute.start(), ...this.operations.start()]) this.workers.set(w.name, w);
    assertProcessorsRegistered(this.workers);
    this.dispatcher.start();
    void this.operations.scheduleSweep();
  }

  /** Each registered queue worker and whether it is running (for readiness). */
  workerStates(): { queue: string; running: boolean }[] {
    return [...this.workers.values()].map((w) => ({ queue: w.name, running: w.isRunning() && !w.closing }));
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'draining: closing job workers');
    await Promise.all([this.courseRecompute.close(), this.operations.close()]);
    this.workers.clear();
    await this.dispatcher.stop();
    await this.queue.close();
  }
}
