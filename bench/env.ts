/**
 * Isolation for one benchmark measurement: its own topics, Postgres schema (in the test
 * database), consumer groups and BullMQ prefix, all suffixed with a run id. Same idea as
 * test/support/isolation.ts, kept separate so the bench does not depend on test code.
 */
import { randomBytes } from 'node:crypto';
import { AppConfig, loadConfig } from '@app/config';

export const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/enrollment_sync_test';

export interface IsolatedRun {
  id: string;
  /** Environment of the worker child processes. */
  env: Record<string, string>;
  config: AppConfig;
}

export function runId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** Extra worker environment for every run (`--worker-env KEY=VALUE`), e.g. to try a setting. */
export const extraWorkerEnv: Record<string, string> = {};

export function isolatedRun(overrides: Record<string, string> = {}): IsolatedRun {
  const id = runId();
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    KAFKA_CLIENT_ID: `bench-${id}`,
    DATABASE_URL: BENCH_DATABASE_URL,
    DATABASE_SCHEMA: `bench_${id}`,
    KAFKA_GROUP_ID: `enrollment-sync-bench-${id}`,
    QUEUE_PREFIX: `es-bench-${id}`,
    TOPIC_COURSES: `lms.courses.v1.bench.${id}`,
    TOPIC_MEMBERSHIPS: `lms.memberships.v1.bench.${id}`,
    TOPIC_LESSON_PROGRESS: `lms.lesson-progress.v1.bench.${id}`,
    TOPIC_USERS: `lms.users.v1.bench.${id}`,
    TOPIC_COURSE_ENROLLMENTS: `lms.course-enrollments.v1.bench.${id}`,
    TOPIC_DLQ: `lms.enrollment-sync.dlq.v1.bench.${id}`,
    SYNC_WORKER_METRICS_PORT: '0',
    JOBS_WORKER_METRICS_PORT: '0',
    API_PORT: '0',
    ...extraWorkerEnv,
    ...overrides,
  };
  if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
  // TLS and SASL settings of a managed cluster reach the bench's own clients and its workers.
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && /^(KAFKA_SSL|KAFKA_SASL_|DATABASE_SSL_|REDIS_TLS_)/.test(name) && !(name in overrides)) env[name] = value;
  }
  const config = loadConfig(env);
  return { id, env, config };
}
