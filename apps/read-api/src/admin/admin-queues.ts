import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { QUEUES, QueueKey, queueOptions } from '@app/jobs';

/** One BullMQ Queue per queue in QUEUES, for the dashboard and the queue metrics; closed on shutdown. */
@Injectable()
export class AdminQueues implements OnApplicationShutdown {
  readonly queues: ReadonlyMap<QueueKey, Queue>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const queues = new Map<QueueKey, Queue>();
    for (const key of Object.keys(QUEUES) as QueueKey[]) {
      const q = new Queue(QUEUES[key].name, queueOptions(config));
      q.on('error', () => undefined); // Redis being away shows in /health/ready, not as a crash
      queues.set(key, q);
    }
    this.queues = queues;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
  }
}
