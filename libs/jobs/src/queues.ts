import type { ConnectionOptions, QueueOptions, WorkerOptions } from 'bullmq';
import type { AppConfig } from '@app/config';

/** Every queue the service runs, with the name operators see in the dashboard. */
export const QUEUES = {
  courseRecompute: { name: 'course-recompute', displayName: 'Course recompute (structure-change fan-out)' },
  deadlineSweep: { name: 'deadline-sweep', displayName: 'Deadline sweep' },
  replay: { name: 'replay', displayName: 'Replay an input or dead-letter topic' },
  rebuild: { name: 'rebuild', displayName: 'Rebuild the projection from stored facts' },
} as const;

export type QueueKey = keyof typeof QUEUES;

/** ioredis options of every Redis connection: TLS (rediss:// and REDIS_TLS_CA_FILE) as resolved at boot. */
export function redisTlsOptions(redis: AppConfig['redis']): { tls?: AppConfig['redis']['tls'] } {
  return redis.tls ? { tls: { ...redis.tls } } : {};
}

export function redisConnection(config: AppConfig): ConnectionOptions {
  // Workers block on Redis; BullMQ requires unlimited retries per request for them.
  return { url: config.redis.url, maxRetriesPerRequest: null, ...redisTlsOptions(config.redis) };
}

/**
 * The options `BullModule.forRootAsync` shares with every queue the jobs worker registers, and
 * so with the workers `@nestjs/bullmq` builds for them (it takes a worker's connection and prefix
 * from its queue). Workers need the ioredis offline queue and unlimited retries per request, so
 * these queues have them too; enqueues through them are bounded by the adapter's timeout instead.
 */
export function queueOptions(config: AppConfig): QueueOptions {
  return { connection: redisConnection(config), prefix: config.redis.queuePrefix };
}

export function workerOptions(config: AppConfig, extra: Partial<WorkerOptions> = {}): WorkerOptions {
  return { connection: redisConnection(config), prefix: config.redis.queuePrefix, ...extra };
}
