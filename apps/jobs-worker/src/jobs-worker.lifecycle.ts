import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { WorkerHost } from '@nestjs/bullmq';
import type { Worker } from 'bullmq';
import { PinoLogger } from 'nestjs-pino';
import { QUEUES, QueueKey } from '@app/jobs';
import { DeadlineSweepSchedule } from './operations/deadline-sweep.schedule';
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
      ]
        .filter(Boolean)
        .join('; ')}`,
    );
  }
}

/**
 * Start and drain order of the jobs worker. `@nestjs/bullmq` builds a worker for each
 * `@Processor` at module init, not running (`autorun: false`). Boot: those workers, found among
 * the providers and checked against PROCESSED_QUEUES, start; then the dispatcher that feeds them
 * and the sweep's schedule. Shutdown (before Nest's shutdown hooks, which close the registered
 * queues and the pools): the workers first (jobs in flight finish), then the schedule and the
 * dispatcher; the queues and pools close after.
 */
@Injectable()
export class JobsWorkerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly workers = new Map<string, Worker>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly dispatcher: RecomputeDispatcher,
    private readonly schedule: DeadlineSweepSchedule,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(JobsWorkerLifecycle.name);
  }

  async onApplicationBootstrap(): Promise<void> {
    const hosts = this.discovery
      .getProviders()
      .map((p) => p.instance as unknown)
      .filter((i): i is WorkerHost => i instanceof WorkerHost);
    const workers = new Map<string, Worker>();
    for (const h of hosts) {
      if (workers.has(h.worker.name)) throw new Error(`job processors misregistered: two workers for ${h.worker.name}`);
      workers.set(h.worker.name, h.worker);
    }
    assertProcessorsRegistered(workers);
    for (const [name, w] of workers) {
      this.workers.set(name, w);
      // run() resolves when the worker closes; a failure of its loop is reported by the worker's
      // 'error' listener, and readiness shows the worker as not running.
      w.run().catch((err: unknown) => this.logger.error({ err, queue: name }, 'job worker stopped'));
    }
    this.dispatcher.start();
    this.schedule.start();
  }

  /** Each registered queue worker and whether it is running (for readiness). */
  workerStates(): { queue: string; running: boolean }[] {
    return [...this.workers.values()].map((w) => ({ queue: w.name, running: w.isRunning() && !w.closing }));
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'draining: closing job workers');
    const workers = [...this.workers.values()];
    this.workers.clear();
    await Promise.all(workers.map((w) => w.close()));
    this.schedule.stop();
    await this.dispatcher.stop();
  }
}
