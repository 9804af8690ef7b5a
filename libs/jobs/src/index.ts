export * from './queues';
export * from './job-queue.port';
export * from './bullmq-job-queue';
export * from './operations';
