/**
 * The topic part of the configuration, loadable on its own: `npm run infra:up` creates the
 * service's topics before anything is built or configured, and must name and size them exactly
 * as the service does without requiring every other variable to be valid.
 */
import { parseEnvVars, RawConfig } from './env-schema';

export const TOPIC_VARIABLES = [
  'TOPIC_COURSES',
  'TOPIC_MEMBERSHIPS',
  'TOPIC_LESSON_PROGRESS',
  'TOPIC_USERS',
  'TOPIC_COURSE_ENROLLMENTS',
  'TOPIC_DLQ',
  'TOPIC_PARTITIONS',
  'DLQ_PARTITIONS',
] as const;

// A type alias, not an interface: callers pass it where a Record<string, unknown> is expected.
export type TopicsConfig = {
  courses: string;
  memberships: string;
  lessonProgress: string;
  users: string;
  courseEnrollments: string;
  dlq: string;
  partitions: number;
  dlqPartitions: number;
};

export function topicsConfig(c: Pick<RawConfig, (typeof TOPIC_VARIABLES)[number]>): TopicsConfig {
  return {
    courses: c.TOPIC_COURSES,
    memberships: c.TOPIC_MEMBERSHIPS,
    lessonProgress: c.TOPIC_LESSON_PROGRESS,
    users: c.TOPIC_USERS,
    courseEnrollments: c.TOPIC_COURSE_ENROLLMENTS,
    dlq: c.TOPIC_DLQ,
    partitions: c.TOPIC_PARTITIONS,
    dlqPartitions: c.DLQ_PARTITIONS,
  };
}

/** Reads and checks only the TOPIC_* and DLQ_PARTITIONS variables (ConfigError names each bad one). */
export function loadTopicsConfig(env: Record<string, string | undefined> = process.env): TopicsConfig {
  return topicsConfig(parseEnvVars(env, TOPIC_VARIABLES));
}
