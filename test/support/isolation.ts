/**
 * Every integration suite runs in its own namespace on the shared services: a Postgres schema,
 * Kafka topics and consumer groups, and a BullMQ prefix, all suffixed with a run id. Suites can
 * therefore run side by side on one machine, and nothing they leave behind collides.
 */
import { randomBytes } from 'node:crypto';
import { AppConfig, loadConfig } from '@app/config';

export function runId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/enrollment_sync_test';

/** A full, validated config whose every shared name is unique to this run. */
export function isolatedConfig(overrides: Record<string, string> = {}): AppConfig & { runId: string } {
  const id = runId();
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: `t_${id}`,
    KAFKA_GROUP_ID: `enrollment-sync-${id}`,
    QUEUE_PREFIX: `es-test-${id}`,
    TOPIC_COURSES: `lms.courses.v1.${id}`,
    TOPIC_MEMBERSHIPS: `lms.memberships.v1.${id}`,
    TOPIC_LESSON_PROGRESS: `lms.lesson-progress.v1.${id}`,
    TOPIC_USERS: `lms.users.v1.${id}`,
    TOPIC_COURSE_ENROLLMENTS: `lms.course-enrollments.v1.${id}`,
    TOPIC_DLQ: `lms.enrollment-sync.dlq.v1.${id}`,
    API_PORT: '0',
    // A killed worker gives its partitions up sooner; drills kill workers on purpose.
    KAFKA_SESSION_TIMEOUT_MS: '8000',
    ...overrides,
  });
  return { ...config, runId: id };
}
