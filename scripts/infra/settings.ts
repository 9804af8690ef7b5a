/**
 * Everything the infra commands read from the environment, with the service's defaults. Pure:
 * no file, process or network access, so each rule is unit-tested.
 */
import path from 'node:path';
import { InfraError } from './output';

export type Env = Record<string, string | undefined>;

export function intEnv(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new InfraError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return Number(raw);
}

export interface KafkaSettings {
  version: string;
  major: number;
  host: string;
  port: number;
  /** Always port + 1: one variable moves both, so two checkouts' brokers never share a controller port. */
  controllerPort: number;
  securePort: number;
  logging: 'log4j2' | 'reload4j';
  libsDir: string;
  home: string;
  dataDir: string;
  propsFile: string;
  logConfigFile: string;
  /** log4j output: the broker's own log. */
  logFile: string;
  /** The JVM's stdout/stderr (crashes, JVM warnings). */
  outFile: string;
  pidFile: string;
  heapOpts: string;
  startTimeoutMs: number;
}

export function kafkaSettings(root: string, env: Env = process.env): KafkaSettings {
  const version = env.KAFKA_VERSION || '4.1.2';
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new InfraError(`KAFKA_VERSION must look like 4.1.2, got "${version}"`);
  const major = Number(version.split('.')[0]);
  if (major < 3) throw new InfraError(`KAFKA_VERSION ${version}: only Kafka 3.x (KRaft) and 4.x are supported`);
  const port = intEnv(env, 'KAFKA_PORT', 9092, 1, 65534);
  const securePort = intEnv(env, 'KAFKA_SECURE_PORT', 9094, 1, 65535);
  if (securePort === port || securePort === port + 1) {
    throw new InfraError(`KAFKA_SECURE_PORT ${securePort} collides with KAFKA_PORT ${port} or its controller port ${port + 1}`);
  }
  const cacheDir = path.join(root, '.cache', 'kafka', version);
  const home = path.join(root, '.infra', 'kafka', version);
  return {
    version,
    major,
    host: '127.0.0.1',
    port,
    controllerPort: port + 1,
    securePort,
    // log4j2 for 4.x, reload4j (log4j 1.x API) for 3.x: see deploy/kafka/pom.xml
    logging: major >= 4 ? 'log4j2' : 'reload4j',
    libsDir: path.join(cacheDir, 'libs'),
    home,
    dataDir: path.join(home, 'data'),
    propsFile: path.join(home, 'server.properties'),
    logConfigFile: path.join(home, major >= 4 ? 'log4j2.properties' : 'log4j.properties'),
    logFile: path.join(home, 'broker.log'),
    outFile: path.join(home, 'broker.out'),
    pidFile: path.join(home, 'broker.pid'),
    heapOpts: env.KAFKA_HEAP_OPTS || '-Xms256m -Xmx1g',
    startTimeoutMs: intEnv(env, 'KAFKA_START_TIMEOUT_MS', 90_000, 1_000, 3_600_000),
  };
}

export function kafkaBrokers(env: Env = process.env): string[] {
  const port = intEnv(env, 'KAFKA_PORT', 9092, 1, 65534);
  const raw = env.KAFKA_BROKERS || `127.0.0.1:${port}`;
  return raw
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}

const TRUTHY = ['1', 'true', 'on', 'yes'];

export type Command = { name: 'up'; secure: boolean } | { name: 'down'; purge: boolean } | { name: 'status' };

/** The command line (`up [--secure]`, `down [--purge]`, `status`); KAFKA_SECURE=1 means --secure. null = usage error. */
export function parseCommand(argv: readonly string[], env: Env = process.env): Command | null {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'up':
      return { name: 'up', secure: rest.includes('--secure') || TRUTHY.includes((env.KAFKA_SECURE ?? '').toLowerCase()) };
    case 'down':
      return { name: 'down', purge: rest.includes('--purge') };
    case 'status':
      return { name: 'status' };
    default:
      return null;
  }
}

export const USAGE = 'usage: npm run infra:up [-- --secure] | npm run infra:status | npm run infra:down [-- --purge]';

export interface DatabaseTarget {
  label: 'DATABASE_URL' | 'TEST_DATABASE_URL';
  url: string;
  name: string;
}

/** The service's database and the tests' one (TEST_DATABASE_URL, default: the same name with _test). */
export function databaseTargets(env: Env = process.env): DatabaseTarget[] {
  const main = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/enrollment_sync';
  let test = env.TEST_DATABASE_URL;
  if (!test) {
    const u = new URL(main);
    u.pathname = `/${dbName(main, 'DATABASE_URL')}_test`;
    test = u.toString();
  }
  return [
    { label: 'DATABASE_URL', url: main, name: dbName(main, 'DATABASE_URL') },
    { label: 'TEST_DATABASE_URL', url: test, name: dbName(test, 'TEST_DATABASE_URL') },
  ];
}

export function dbName(url: string, label: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InfraError(`${label} is not a URL`);
  }
  if (!['postgres:', 'postgresql:'].includes(u.protocol)) throw new InfraError(`${label} must be a postgres:// URL`);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
    throw new InfraError(`${label}: database name "${name}" must match /^[a-z_][a-z0-9_]*$/`);
  }
  return name;
}

/** Same server and credentials, `postgres` maintenance database. */
export function maintenanceUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

/** host:port of a URL, without its credentials: what messages may show. */
export function safeUrl(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)}`;
}

export const isLocalHost = (host: string): boolean => ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);

export function redisUrl(env: Env = process.env): string {
  const url = env.REDIS_URL || 'redis://127.0.0.1:6379/0';
  const u = new URL(url);
  if (!['redis:', 'rediss:'].includes(u.protocol)) throw new InfraError('REDIS_URL must be a redis:// URL');
  return url;
}
