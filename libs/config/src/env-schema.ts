/**
 * Every setting of the service is an environment variable declared here, with its default
 * and its check. `loadConfig` reads them all at boot and fails with one message naming
 * every bad variable, so a misconfigured deployment never half-starts.
 */

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Parser<T> = (raw: string, name: string) => T;

interface Setting<T> {
  default?: string;
  doc: string;
  parse: Parser<T>;
  /** Values that must not be echoed back in error messages. */
  secret?: boolean;
}

const str: Parser<string> = (raw) => raw;

const int =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`${name} must be an integer, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  };

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw, name) => {
    if (!(values as string[]).includes(raw)) throw new Error(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };

const url =
  (...protocols: string[]): Parser<string> =>
  (raw, name) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`${name} must be a URL (${protocols.join(' or ')}), got something else`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new Error(`${name} must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
    }
    return raw;
  };

const optionalUrl =
  (...protocols: string[]): Parser<string> =>
  (raw, name) =>
    raw === '' ? raw : url(...protocols)(raw, name);

const keyValues: Parser<Record<string, string>> = (raw, name) => {
  const out: Record<string, string> = {};
  for (const pair of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z]+)=([\x21-\x7E]+)$/.exec(pair);
    if (!m) throw new Error(`${name} entry "${pair}" is not key=value (letters for the key, printable ASCII for the value)`);
    out[m[1]] = m[2];
  }
  return out;
};

const brokers: Parser<string[]> = (raw, name) => {
  const list = raw
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (list.length === 0) throw new Error(`${name} must list at least one host:port`);
  for (const b of list) {
    if (!/^[A-Za-z0-9_.-]+:\d{1,5}$/.test(b)) throw new Error(`${name} entry "${b}" is not host:port`);
  }
  return list;
};

const bool: Parser<boolean> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (['true', 'on', '1', 'yes'].includes(v)) return true;
  if (['false', 'off', '0', 'no'].includes(v)) return false;
  throw new Error(`${name} must be true or false (on/off, 1/0), got "${raw}"`);
};

/** A path whose file `loadConfig` reads at boot (see connection-security.ts); empty = unset. */
const file: Parser<string> = (raw) => raw.trim();

const topic: Parser<string> = (raw, name) => {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(raw)) throw new Error(`${name} "${raw}" is not a valid Kafka topic name`);
  return raw;
};

const tokens: Parser<string[]> = (raw, name) => {
  const list = raw
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of list) {
    if (t.length < 16) throw new Error(`${name} holds a token shorter than 16 characters`);
  }
  return list;
};

const identifier: Parser<string> = (raw, name) => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(raw)) throw new Error(`${name} "${raw}" must be a lower-case SQL identifier`);
  return raw;
};

/** An http(s) origin with an optional path prefix, no query or fragment; trailing slashes dropped. Empty = unset. */
const publicUrl: Parser<string> = (raw, name) => {
  if (raw === '') return raw;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`${name} must be an http(s) URL such as https://lms.example.org or be empty`);
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') {
    throw new Error(`${name} must be an http(s) URL without query, fragment or credentials, got "${raw}"`);
  }
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
};

/** Express `trust proxy`: empty = trust no proxy; a hop count; or addresses, subnets and Express's names. */
const trustProxy: Parser<string> = (raw, name) => {
  const v = raw.trim();
  if (v === '' || /^([0-9]|[1-9][0-9])$/.test(v)) return v;
  for (const entry of v.split(',').map((e) => e.trim())) {
    if (!/^(loopback|linklocal|uniquelocal|[0-9A-Fa-f:.]+(\/\d{1,3})?)$/.test(entry)) {
      throw new Error(`${name} must be empty, a hop count, or comma-separated addresses/subnets (or loopback, linklocal, uniquelocal); "${entry}" is none`);
    }
  }
  return v;
};

const template: Parser<string> = (raw, name) => {
  if (raw !== '' && !raw.includes('{id}') && !raw.includes('{slug}')) {
    throw new Error(`${name} must contain {id} or {slug} (or be empty to publish no URLs)`);
  }
  return raw;
};

export const ENV_SCHEMA = {
  NODE_ENV: { default: 'development', doc: 'development, test or production', parse: oneOf('development', 'test', 'production') },
  LOG_LEVEL: { default: 'info', doc: 'pino level', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') },
  KAFKA_BROKERS: { default: '127.0.0.1:9092', doc: 'comma-separated bootstrap brokers', parse: brokers },
  KAFKA_CLIENT_ID: { default: 'enrollment-sync', doc: 'Kafka client id', parse: str },
  KAFKA_GROUP_ID: { default: 'enrollment-sync', doc: 'consumer group of the sync worker', parse: str },
  KAFKA_SESSION_TIMEOUT_MS: { default: '30000', doc: 'consumer session timeout: how long a dead worker holds its partitions', parse: int(6000, 300000) },
  KAFKA_SSL: { default: 'false', doc: 'connect to the brokers over TLS', parse: bool },
  KAFKA_SSL_CA_FILE: { default: '', doc: "PEM CA bundle the brokers' certificates must chain to; empty = the system CAs", parse: file },
  KAFKA_SSL_CERT_FILE: { default: '', doc: 'PEM client certificate for mutual TLS (with KAFKA_SSL_KEY_FILE)', parse: file },
  KAFKA_SSL_KEY_FILE: { default: '', doc: 'PEM private key of the client certificate (unencrypted)', parse: file },
  KAFKA_SSL_REJECT_UNAUTHORIZED: { default: 'true', doc: "verify the brokers' certificates and host names (false only for diagnosis)", parse: bool },
  KAFKA_SASL_MECHANISM: {
    default: '',
    doc: 'plain, scram-sha-256, scram-sha-512, oauthbearer or aws; empty = no SASL',
    parse: oneOf('', 'plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer', 'aws'),
  },
  KAFKA_SASL_USERNAME: { default: '', doc: 'SASL user name (oauthbearer: OAuth client id; aws: access key id)', parse: str },
  KAFKA_SASL_PASSWORD: { default: '', doc: 'SASL password (oauthbearer: client secret; aws: secret access key)', parse: str, secret: true },
  KAFKA_SASL_PASSWORD_FILE: { default: '', doc: 'file holding KAFKA_SASL_PASSWORD (a mounted secret)', parse: file },
  KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: {
    default: '',
    doc: 'oauthbearer: OAuth 2.0 token endpoint (client credentials grant)',
    parse: optionalUrl('https:', 'http:'),
  },
  KAFKA_SASL_OAUTHBEARER_SCOPE: { default: '', doc: 'oauthbearer: scope requested from the token endpoint', parse: str },
  KAFKA_SASL_OAUTHBEARER_EXTENSIONS: {
    default: '',
    doc: 'oauthbearer: SASL extensions sent with the token, key=value,key=value (Confluent Cloud: logicalCluster, identityPoolId)',
    parse: keyValues,
  },
  KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: { default: '', doc: 'oauthbearer: file holding the current token, re-read at each authentication', parse: file },
  KAFKA_SASL_AWS_AUTHORIZATION_IDENTITY: { default: '', doc: 'aws: authorization identity (kafkajs AWS mechanism)', parse: str },
  KAFKA_SASL_AWS_SESSION_TOKEN: { default: '', doc: 'aws: session token of temporary credentials', parse: str, secret: true },
  KAFKA_SASL_AWS_SESSION_TOKEN_FILE: { default: '', doc: 'file holding KAFKA_SASL_AWS_SESSION_TOKEN', parse: file },
  TOPIC_COURSES: { default: 'lms.courses.v1', doc: 'input: course structure', parse: topic },
  TOPIC_MEMBERSHIPS: { default: 'lms.memberships.v1', doc: 'input: memberships', parse: topic },
  TOPIC_LESSON_PROGRESS: { default: 'lms.lesson-progress.v1', doc: 'input: completions and grades', parse: topic },
  TOPIC_USERS: { default: 'lms.users.v1', doc: 'input: user profiles', parse: topic },
  TOPIC_COURSE_ENROLLMENTS: { default: 'lms.course-enrollments.v1', doc: 'output: CourseEnrollments events', parse: topic },
  TOPIC_DLQ: { default: 'lms.enrollment-sync.dlq.v1', doc: 'dead letters', parse: topic },
  TOPIC_PARTITIONS: { default: '6', doc: 'partitions of input and output topics when the service creates them', parse: int(1, 1000) },
  DLQ_PARTITIONS: { default: '1', doc: 'partitions of the dead-letter topic when the service creates it', parse: int(1, 1000) },
  DATABASE_URL: {
    default: 'postgres://postgres@127.0.0.1:5432/enrollment_sync',
    doc: 'Postgres connection URL',
    parse: url('postgres:', 'postgresql:'),
    secret: true,
  },
  DATABASE_READ_URL: {
    default: '',
    doc: "the read API's list and view queries go to this Postgres (a streaming replica of DATABASE_URL, or the same server); empty = DATABASE_URL",
    parse: optionalUrl('postgres:', 'postgresql:'),
    secret: true,
  },
  DATABASE_SSL_CA_FILE: { default: '', doc: 'PEM CA bundle for Postgres TLS (sslmode in DATABASE_URL and DATABASE_READ_URL; alone it means verify-full)', parse: file },
  DATABASE_SCHEMA: { default: 'public', doc: 'schema holding the service tables', parse: identifier },
  DATABASE_POOL_SIZE: { default: '10', doc: 'connections per process', parse: int(1, 200) },
  REDIS_URL: {
    default: 'redis://127.0.0.1:6379/0',
    doc: "Redis for BullMQ and the read API's failed-authentication counts",
    parse: url('redis:', 'rediss:'),
    secret: true,
  },
  REDIS_TLS_CA_FILE: { default: '', doc: 'PEM CA bundle for a rediss:// REDIS_URL; empty = the system CAs', parse: file },
  QUEUE_PREFIX: {
    default: 'enrollment-sync',
    doc: 'key prefix in Redis: BullMQ queues and failed-authentication counts (isolates deployments sharing a Redis)',
    parse: str,
  },
  API_PORT: { default: '3000', doc: 'HTTP port of the read API', parse: int(0, 65535) },
  API_TOKENS: { default: '', doc: 'comma-separated bearer tokens (16+ chars) for the API; none set = every protected route answers 401', parse: tokens, secret: true },
  API_DATABASE_CONNECT_TIMEOUT_MS: {
    default: '3000',
    doc: 'how long a read API request waits for a database connection (a free pool slot or a new connection) before it answers 503',
    parse: int(100, 60000),
  },
  PUBLIC_URL: { default: '', doc: "the read API's public base URL (https://host[/prefix]) for next/previous links; empty = relative links", parse: publicUrl },
  AUTH_FAILURE_LIMIT: {
    default: '20',
    doc: 'failed authentications per client address within AUTH_FAILURE_WINDOW_MS, counted over all read API replicas (in Redis), before the API answers 429 (0 = no limit)',
    parse: int(0, 1000000),
  },
  AUTH_FAILURE_WINDOW_MS: {
    default: '60000',
    doc: 'window of AUTH_FAILURE_LIMIT; an address over the limit waits until its window ends (0 = no limit)',
    parse: int(0, 86400000),
  },
  TRUST_PROXY: { default: '', doc: 'proxies whose X-Forwarded-For/-Proto the read API believes: empty = none, a hop count, or addresses/subnets', parse: trustProxy },
  SYNC_WORKER_METRICS_PORT: { default: '9464', doc: "port of the sync worker's /metrics (0 = any free port; the one bound is logged)", parse: int(0, 65535) },
  JOBS_WORKER_METRICS_PORT: { default: '9465', doc: "port of the jobs worker's /metrics (0 = any free port; the one bound is logged)", parse: int(0, 65535) },
  COURSE_URL_TEMPLATE: { default: '', doc: 'course URL with {id} and/or {slug}; empty = urls: []', parse: template },
  INGEST_SLICE_SIZE: { default: '500', doc: 'input messages applied per Postgres transaction (1 = one transaction per message)', parse: int(1, 10000) },
  INGEST_CONCURRENCY: {
    default: '4',
    doc: 'input partitions applied at the same time, each in its own transaction (needs as many pool connections)',
    parse: int(1, 100),
  },
  OUTBOX_POLL_MS: { default: '1000', doc: 'relay fallback poll when no NOTIFY arrives', parse: int(10, 60000) },
  RELAY_SLOTS: {
    default: '0',
    doc: "slots the outbox relay's work is split into (slot = output partition mod slots; each replica takes a fair share); 0 = the output topic's partition count. Fixed when the first relay starts",
    parse: int(0, 10000),
  },
  SLOT_TAKEOVER_MS: {
    default: '10000',
    doc: "lease of a relay slot: the owner renews it well before; a dead owner's slots are taken over within this long",
    parse: int(1000, 600000),
  },
  STALL_AFTER_MS: {
    default: '60000',
    doc: "a worker reports not ready (/health/ready 503) when an input partition with lag, or the outbox's oldest pending event, has not moved for this long",
    parse: int(1000, 86400000),
  },
  MAX_FUTURE_SKEW_MS: {
    default: '300000',
    doc: "how far an input event's `time` may be ahead of this service's clock; a later one is dead-lettered (it could never be displaced by an honest event)",
    parse: int(0, 31536000000),
  },
  SHUTDOWN_TIMEOUT_MS: { default: '15000', doc: 'how long a process drains on SIGTERM before it exits anyway', parse: int(0, 600000) },
} satisfies Record<string, Setting<unknown>>;

type Schema = typeof ENV_SCHEMA;
export type EnvName = keyof Schema;
export type RawConfig = { [K in EnvName]: ReturnType<Schema[K]['parse']> };

export function parseEnv(env: Record<string, string | undefined>): RawConfig {
  return parseEnvVars(env, Object.keys(ENV_SCHEMA) as EnvName[]);
}

/** Parses only `names`, so a tool that needs a few settings is not stopped by an unrelated bad one. */
export function parseEnvVars<K extends EnvName>(env: Record<string, string | undefined>, names: readonly K[]): Pick<RawConfig, K> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const setting: Setting<unknown> = ENV_SCHEMA[name];
    const raw = env[name] ?? setting.default ?? '';
    try {
      out[name] = setting.parse(raw, name);
    } catch (err) {
      const msg = (err as Error).message;
      // Never echo a secret back: a bad DATABASE_URL may still carry a password.
      problems.push(setting.secret ? msg.replace(raw, '<redacted>') : msg);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Pick<RawConfig, K>;
}
