import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { KafkaSecurity, resolveSecurity } from './connection-security';
import { parseEnv, RawConfig } from './env-schema';
import { topicsConfig, TopicsConfig } from './topics-config';

export interface AppConfig {
  env: RawConfig['NODE_ENV'];
  logLevel: RawConfig['LOG_LEVEL'];
  kafka: { brokers: string[]; clientId: string; groupId: string; sessionTimeoutMs: number } & KafkaSecurity;
  topics: TopicsConfig;
  /** `ssl` resolved from DATABASE_URL's sslmode and DATABASE_SSL_CA_FILE (false = plaintext). */
  database: {
    url: string;
    schema: string;
    poolSize: number;
    ssl: false | TlsOptions;
    /** DATABASE_READ_URL with its own `ssl`; absent when unset (the read API reads from `url`). */
    read?: { url: string; ssl: false | TlsOptions };
  };
  /** `tls` present for a rediss:// URL, with REDIS_TLS_CA_FILE's CA if set. */
  redis: { url: string; queuePrefix: string; tls?: TlsOptions };
  api: {
    port: number;
    tokens: string[];
    databaseConnectTimeoutMs: number;
    /** Base of absolute links, without trailing slash; empty = relative links. */
    publicUrl: string;
    /** 0 = failed authentications are not limited. */
    authFailureLimit: number;
    authFailureWindowMs: number;
    /** Express `trust proxy` value; empty = none. */
    trustProxy: string;
  };
  metricsPorts: { syncWorker: number; jobsWorker: number };
  courseUrlTemplate: string;
  ingestSliceSize: number;
  ingestConcurrency: number;
  outboxPollMs: number;
  /** Relay slots; 0 = the output topic's partition count. */
  relaySlots: number;
  slotTakeoverMs: number;
  stallAfterMs: number;
  /** MAX_FUTURE_SKEW_MS: how far ahead of the clock an input event's time may be. */
  maxFutureSkewMs: number;
  shutdownTimeoutMs: number;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const c = parseEnv(env);
  const security = resolveSecurity(c); // reads the certificate and secret files the variables name
  return {
    env: c.NODE_ENV,
    logLevel: c.LOG_LEVEL,
    kafka: { brokers: c.KAFKA_BROKERS, clientId: c.KAFKA_CLIENT_ID, groupId: c.KAFKA_GROUP_ID, sessionTimeoutMs: c.KAFKA_SESSION_TIMEOUT_MS, ...security.kafka },
    topics: topicsConfig(c),
    database: {
      url: c.DATABASE_URL,
      schema: c.DATABASE_SCHEMA,
      poolSize: c.DATABASE_POOL_SIZE,
      ssl: security.databaseSsl,
      ...(security.databaseReadSsl !== undefined ? { read: { url: c.DATABASE_READ_URL, ssl: security.databaseReadSsl } } : {}),
    },
    redis: { url: c.REDIS_URL, queuePrefix: c.QUEUE_PREFIX, ...(security.redisTls ? { tls: security.redisTls } : {}) },
    api: {
      port: c.API_PORT,
      tokens: c.API_TOKENS,
      databaseConnectTimeoutMs: c.API_DATABASE_CONNECT_TIMEOUT_MS,
      publicUrl: c.PUBLIC_URL,
      authFailureLimit: c.AUTH_FAILURE_LIMIT,
      authFailureWindowMs: c.AUTH_FAILURE_WINDOW_MS,
      trustProxy: c.TRUST_PROXY,
    },
    metricsPorts: { syncWorker: c.SYNC_WORKER_METRICS_PORT, jobsWorker: c.JOBS_WORKER_METRICS_PORT },
    courseUrlTemplate: c.COURSE_URL_TEMPLATE,
    ingestSliceSize: c.INGEST_SLICE_SIZE,
    ingestConcurrency: c.INGEST_CONCURRENCY,
    outboxPollMs: c.OUTBOX_POLL_MS,
    relaySlots: c.RELAY_SLOTS,
    slotTakeoverMs: c.SLOT_TAKEOVER_MS,
    stallAfterMs: c.STALL_AFTER_MS,
    maxFutureSkewMs: c.MAX_FUTURE_SKEW_MS,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
  };
}

export const inputTopics = (c: AppConfig): string[] => [c.topics.courses, c.topics.memberships, c.topics.lessonProgress, c.topics.users];
