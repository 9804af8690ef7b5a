#!/usr/bin/env node
// Local infrastructure without Docker: a single-node KRaft Kafka broker resolved from Maven
// Central and run with the machine's java, plus the machine's Postgres and Redis.
//
//   node scripts/infra.mjs up             start/ensure everything, create databases and topics
//   node scripts/infra.mjs up --secure    same, the broker also with a SASL_SSL listener (SCRAM-SHA-512,
//                                         certificates from a local CA) on KAFKA_SECURE_PORT (9094);
//                                         KAFKA_SECURE=1 does the same
//   node scripts/infra.mjs status         state of each component; exit 1 if something is down
//   node scripts/infra.mjs down [--purge] stop the Kafka broker this script started
//                                         (--purge also deletes its data dir)
//
// See deploy/kafka/README.md for the environment variables and where things live.
// With Docker instead: docker compose up -d kafka postgres redis
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';
import pg from 'pg';
import Redis from 'ioredis';

const { Kafka, logLevel } = kafkajs;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POM = path.join(ROOT, 'deploy', 'kafka', 'pom.xml');
const DOCKER_HINT = 'docker compose up -d kafka postgres redis';

// ---------------------------------------------------------------------------------------------
// output

const PLAIN = process.env.CI === 'true' || !process.stdout.isTTY || 'NO_COLOR' in process.env;
const paint = (code) => (s) => (PLAIN ? String(s) : `\x1b[${code}m${s}\x1b[0m`);
const green = paint('32');
const red = paint('31');
const yellow = paint('33');
const dim = paint('2');

const say = (component, msg) => console.log(`${component}: ${msg}`);
const warn = (component, msg) => console.log(`${component}: ${yellow(msg)}`);
const fail = (component, msg) => console.log(`${component}: ${red(msg)}`);
const rel = (p) => path.relative(ROOT, p) || '.';
const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class InfraError extends Error {}

// ---------------------------------------------------------------------------------------------
// configuration (all from env, with the service's defaults)

function intEnv(env, name, def, min, max) {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new InfraError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return Number(raw);
}

export function kafkaSettings(env = process.env) {
  const version = env.KAFKA_VERSION || '4.1.2';
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new InfraError(`KAFKA_VERSION must look like 4.1.2, got "${version}"`);
  const major = Number(version.split('.')[0]);
  if (major < 3) throw new InfraError(`KAFKA_VERSION ${version}: only Kafka 3.x (KRaft) and 4.x are supported`);
  const port = intEnv(env, 'KAFKA_PORT', 9092, 1, 65534);
  const securePort = intEnv(env, 'KAFKA_SECURE_PORT', 9094, 1, 65535);
  if (securePort === port || securePort === port + 1) throw new InfraError(`KAFKA_SECURE_PORT ${securePort} collides with KAFKA_PORT ${port} or its controller port ${port + 1}`);
  const cacheDir = path.join(ROOT, '.cache', 'kafka', version);
  const home = path.join(ROOT, '.infra', 'kafka', version);
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
    logFile: path.join(home, 'broker.log'), // log4j output: the broker's own log
    outFile: path.join(home, 'broker.out'), // the JVM's stdout/stderr (crashes, JVM warnings)
    pidFile: path.join(home, 'broker.pid'),
    heapOpts: env.KAFKA_HEAP_OPTS || '-Xms256m -Xmx1g',
    startTimeoutMs: intEnv(env, 'KAFKA_START_TIMEOUT_MS', 90_000, 1_000, 3_600_000),
  };
}

export function kafkaBrokers(env = process.env) {
  const port = intEnv(env, 'KAFKA_PORT', 9092, 1, 65534);
  const raw = env.KAFKA_BROKERS || `127.0.0.1:${port}`;
  return raw.split(',').map((b) => b.trim()).filter(Boolean);
}

/** The service's topics, as kafkajs `createTopics` specs. */
export function topicSpecs(env = process.env) {
  const partitions = intEnv(env, 'TOPIC_PARTITIONS', 6, 1, 1000);
  const dlqPartitions = intEnv(env, 'DLQ_PARTITIONS', 1, 1, 1000);
  // Inputs take values a little over the 1 MiB contract limit so the service can dead-letter
  // them (instead of the producer seeing a broker error); the DLQ holds those copies plus headers.
  // Keep in step with topicSpecs() in libs/messaging/src/kafka-client.ts.
  const t = (name, def, numPartitions, maxBytes = 2 * 1024 * 1024) => ({
    topic: env[name] || def,
    numPartitions,
    replicationFactor: 1,
    configEntries: [{ name: 'max.message.bytes', value: String(maxBytes) }],
  });
  return [
    t('TOPIC_COURSES', 'lms.courses.v1', partitions),
    t('TOPIC_MEMBERSHIPS', 'lms.memberships.v1', partitions),
    t('TOPIC_LESSON_PROGRESS', 'lms.lesson-progress.v1', partitions),
    t('TOPIC_USERS', 'lms.users.v1', partitions),
    t('TOPIC_COURSE_ENROLLMENTS', 'lms.course-enrollments.v1', partitions),
    t('TOPIC_DLQ', 'lms.enrollment-sync.dlq.v1', dlqPartitions, 4 * 1024 * 1024),
  ];
}

function databaseTargets(env = process.env) {
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

function dbName(url, label) {
  let u;
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
function maintenanceUrl(url) {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

const safeUrl = (url) => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)}`;
};
const isLocalHost = (host) => ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);

// ---------------------------------------------------------------------------------------------
// kafka client helpers (kafkajs is chatty: silent unless INFRA_DEBUG is set)

/**
 * TLS and SASL options for the configured KAFKA_BROKERS (a managed cluster), read from the
 * service's variables. A subset of libs/config's resolution (this script runs before any build):
 * TLS files, plain and SCRAM; keep in step with libs/config/src/connection-security.ts.
 */
export function clientSecurityFromEnv(env = process.env) {
  const flag = (name, def) => {
    const v = (env[name] ?? '').trim().toLowerCase();
    if (v === '') return def;
    if (['true', 'on', '1', 'yes'].includes(v)) return true;
    if (['false', 'off', '0', 'no'].includes(v)) return false;
    throw new InfraError(`${name} must be true or false, got "${env[name]}"`);
  };
  const read = (name) => {
    const file = (env[name] ?? '').trim();
    if (file === '') return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new InfraError(`${name}: cannot read ${file} (${err.code === 'ENOENT' ? 'no such file' : err.code})`);
    }
  };
  let ssl = false;
  if (flag('KAFKA_SSL', false)) {
    const ca = read('KAFKA_SSL_CA_FILE');
    const cert = read('KAFKA_SSL_CERT_FILE');
    const key = read('KAFKA_SSL_KEY_FILE');
    ssl = { rejectUnauthorized: flag('KAFKA_SSL_REJECT_UNAUTHORIZED', true), ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
  }
  const mechanism = env.KAFKA_SASL_MECHANISM || '';
  if (mechanism === '') return { ssl };
  if (!['plain', 'scram-sha-256', 'scram-sha-512'].includes(mechanism)) {
    throw new InfraError(`KAFKA_SASL_MECHANISM=${mechanism}: this script authenticates with plain or scram only; create the topics with your platform's tooling (the service checks them at boot)`);
  }
  const password = env.KAFKA_SASL_PASSWORD || read('KAFKA_SASL_PASSWORD_FILE')?.toString('utf8').replace(/\r?\n$/, '') || '';
  if (!env.KAFKA_SASL_USERNAME || !password) throw new InfraError(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)`);
  return { ssl, sasl: { mechanism, username: env.KAFKA_SASL_USERNAME, password } };
}

/** The local broker's own listener: plaintext. */
const PLAINTEXT = { ssl: false };

function kafkaClient(brokers, { timeoutMs = 5_000, security = PLAINTEXT } = {}) {
  return new Kafka({
    clientId: 'enrollment-sync-infra',
    brokers,
    ...security,
    connectionTimeout: Math.min(timeoutMs, 3_000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: process.env.INFRA_DEBUG ? logLevel.WARN : logLevel.NOTHING,
  });
}

async function withAdmin(brokers, fn, opts) {
  const admin = kafkaClient(brokers, opts).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Resolves to the cluster description if a broker answers a metadata request, else null. */
export async function probeKafka(brokers = kafkaBrokers(), timeoutMs = 3_000, security = PLAINTEXT) {
  try {
    return await withAdmin(brokers, (admin) => admin.describeCluster(), { timeoutMs, security });
  } catch {
    return null;
  }
}

function portOpen(host, port, timeoutMs = 1_000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Creates the service's topics that don't exist yet (the broker never auto-creates).
 * Existing topics are left alone, whatever their partition count.
 * @returns {Promise<{created: string[], existing: {topic: string, partitions: number, wanted: number}[]}>}
 */
export async function ensureTopics({ brokers = kafkaBrokers(), topics = topicSpecs(), timeoutMs = 30_000, security = clientSecurityFromEnv() } = {}) {
  return withAdmin(
    brokers,
    async (admin) => {
      const present = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !present.has(t.topic));
      const created = [];
      if (missing.length > 0) {
        try {
          await admin.createTopics({ topics: missing, waitForLeaders: true, timeout: timeoutMs });
          created.push(...missing.map((t) => t.topic));
        } catch (err) {
          // Someone else created some of them meanwhile: fine, as long as they all exist now.
          const nowPresent = new Set(await admin.listTopics());
          const stillMissing = missing.filter((t) => !nowPresent.has(t.topic));
          if (stillMissing.length > 0) throw err;
        }
      }
      const existingSpecs = topics.filter((t) => !created.includes(t.topic));
      const existing = [];
      if (existingSpecs.length > 0) {
        const { topics: meta } = await admin.fetchTopicMetadata({ topics: existingSpecs.map((t) => t.topic) });
        for (const spec of existingSpecs) {
          const m = meta.find((x) => x.name === spec.topic);
          existing.push({ topic: spec.topic, partitions: m ? m.partitions.length : 0, wanted: spec.numPartitions });
        }
      }
      return { created, existing };
    },
    { timeoutMs, security },
  );
}

// ---------------------------------------------------------------------------------------------
// processes

function which(cmd) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

function readPid(pidFile) {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function procState(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Alive and not a zombie (the broker outlives this script; whoever reaps it may be slow). */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code === 'EPERM';
  }
  return procState(pid) !== 'Z';
}

function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null;
  }
}

/** Is `pid` the broker started with this server.properties? (guards against pid reuse) */
function isOurBroker(pid, propsFile) {
  if (!isAlive(pid)) return false;
  const args = cmdline(pid);
  if (args === null) return true; // no /proc (macOS): trust the pid file
  return args.includes('kafka.Kafka') && args.includes(propsFile);
}

/** Brokers this script started and that are still alive, any version. */
function ourBrokers() {
  const base = path.join(ROOT, '.infra', 'kafka');
  let versions = [];
  try {
    versions = fs.readdirSync(base).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  } catch {
    return [];
  }
  const found = [];
  for (const version of versions) {
    const s = kafkaSettings({ ...process.env, KAFKA_VERSION: version });
    const pid = readPid(s.pidFile);
    if (pid === null) continue;
    const port = propsPort(s.propsFile);
    found.push({ settings: s, pid, port, alive: isOurBroker(pid, s.propsFile) });
  }
  return found;
}

/** The SASL_SSL port in a generated server.properties, null when it has none. */
function propsSecurePort(propsFile) {
  try {
    const m = /^advertised\.listeners=.*SASL_SSL:\/\/[^:]+:(\d+)/m.exec(fs.readFileSync(propsFile, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function propsPort(propsFile) {
  try {
    const m = /^advertised\.listeners=PLAINTEXT:\/\/[^:]+:(\d+)/m.exec(fs.readFileSync(propsFile, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Best effort: which Kafka version listens on `port`? (Linux /proc, same user or root) */
function versionListeningOn(port) {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    const inodes = new Set();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length > 9 && f[1].endsWith(`:${hex}`) && f[3] === '0A') inodes.add(f[9]);
      }
    }
    if (inodes.size === 0) return null;
    for (const pidDir of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let fds = [];
      try {
        fds = fs.readdirSync(`/proc/${pidDir}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let target = '';
        try {
          target = fs.readlinkSync(`/proc/${pidDir}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m && inodes.has(m[1])) {
          const args = (cmdline(Number(pidDir)) || []).join(' ');
          const v = /kafka_2\.1[23]-(\d+\.\d+\.\d+)\.jar/.exec(args) || /\.cache\/kafka\/(\d+\.\d+\.\d+)\/libs/.exec(args);
          return { pid: Number(pidDir), version: v ? v[1] : null };
        }
      }
    }
  } catch {
    /* best effort */
  }
  return null;
}

function tail(file, lines = 40) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '';
  }
}

function printLogTails(s) {
  for (const f of [s.logFile, s.outFile]) {
    const t = tail(f).trim();
    if (t) console.error(`---- last lines of ${rel(f)} ----\n${t}\n----`);
  }
}

// ---------------------------------------------------------------------------------------------
// kafka: resolve, configure, format, start, stop

function requireTools(tools, s) {
  const missing = tools.filter((t) => !which(t));
  if (missing.length === 0) return;
  throw new InfraError(
    `cannot run Kafka ${s.version} locally: ${missing.map((t) => `\`${t}\``).join(' and ')} not found on PATH ` +
      `(needs a JDK 17+ and Maven 3.6+). Install them, or use Docker instead: ${DOCKER_HINT}`,
  );
}

function libsComplete(s) {
  return fs.existsSync(path.join(s.libsDir, '.complete')) && fs.existsSync(path.join(s.libsDir, `kafka_2.13-${s.version}.jar`));
}

function resolveLibs(s) {
  if (libsComplete(s)) return false;
  requireTools(['java', 'mvn'], s);
  const tmp = `${s.libsDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(s.libsDir), { recursive: true });
  say(`kafka ${s.version}`, `resolving org.apache.kafka:kafka_2.13:${s.version} + ${s.logging} from Maven Central (mvn, ~/.m2) into ${rel(s.libsDir)}`);
  const t0 = Date.now();
  const r = spawnSync(
    'mvn',
    ['-q', '-B', '-ntp', '-f', POM, `-P${s.logging}`, `-Dkafka.version=${s.version}`, `-Dkafka.libs.dir=${tmp}`, 'dependency:copy-dependencies'],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAVEN_OPTS: process.env.MAVEN_OPTS || '-Xmx512m' } },
  );
  if (r.status !== 0 || !fs.existsSync(path.join(tmp, `kafka_2.13-${s.version}.jar`))) {
    fs.rmSync(tmp, { recursive: true, force: true });
    try {
      fs.rmdirSync(path.dirname(s.libsDir)); // only if empty: nothing was ever resolved for it
    } catch {
      /* not empty */
    }
    // eslint-disable-next-line no-control-regex
    const output = `${r.stdout || ''}${r.stderr || ''}`.replace(/\x1b\[[0-9;]*m/g, '').trim();
    if (output) console.error(output.split('\n').slice(-30).join('\n'));
    throw new InfraError(`mvn could not resolve Kafka ${s.version} (exit ${r.status ?? r.signal}); is it a released version?`);
  }
  const jars = fs.readdirSync(tmp).filter((f) => f.endsWith('.jar'));
  fs.writeFileSync(path.join(tmp, '.complete'), `${JSON.stringify({ version: s.version, logging: s.logging, jars: jars.length, resolvedAt: new Date().toISOString() })}\n`);
  fs.rmSync(s.libsDir, { recursive: true, force: true });
  fs.renameSync(tmp, s.libsDir);
  say(`kafka ${s.version}`, `resolved ${jars.length} jars in ${secs(Date.now() - t0)}`);
  return true;
}

function writeConfigs(s, tls = null) {
  fs.mkdirSync(s.dataDir, { recursive: true });
  const secureListener = tls ? `,SASL_SSL://${s.host}:${s.securePort}` : '';
  const props = [
    '# generated by scripts/infra.mjs: edits are overwritten on the next `npm run infra:up`',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${s.host}:${s.controllerPort}`,
    `listeners=PLAINTEXT://${s.host}:${s.port},CONTROLLER://${s.host}:${s.controllerPort}${secureListener}`,
    `advertised.listeners=PLAINTEXT://${s.host}:${s.port}${secureListener}`,
    `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${tls ? ',SASL_SSL:SASL_SSL' : ''}`,
    // The secure listener (--secure): TLS with the local CA's broker certificate, SCRAM-SHA-512
    // users from the cluster metadata (created by ensureScramUser). Brokers talk PLAINTEXT.
    ...(tls
      ? [
          'listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512',
          'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
          'listener.name.sasl_ssl.ssl.keystore.type=PKCS12',
          `listener.name.sasl_ssl.ssl.keystore.location=${tls.keystore}`,
          `listener.name.sasl_ssl.ssl.keystore.password=${tls.keystorePassword}`,
          `listener.name.sasl_ssl.ssl.key.password=${tls.keystorePassword}`,
        ]
      : []),
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${s.dataDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // a 2-core dev machine: fewer threads than the defaults (3 network, 8 io)
    'num.network.threads=2',
    'num.io.threads=4',
    'num.recovery.threads.per.data.dir=1',
    ...(s.major >= 4 ? ['share.coordinator.state.topic.replication.factor=1', 'share.coordinator.state.topic.min.isr=1'] : []),
    '',
  ];
  fs.writeFileSync(s.propsFile, props.join('\n'));

  const quiet = ['kafka.request.logger', 'kafka.network.RequestChannel$', 'state.change.logger', 'org.apache.kafka.storage.internals.log', 'kafka.log.LogCleaner'];
  let logConfig;
  if (s.logging === 'log4j2') {
    logConfig = [
      '# generated by scripts/infra.mjs',
      'status = warn',
      'name = enrollment-sync-kafka',
      'appender.file.type = RollingFile',
      'appender.file.name = FILE',
      `appender.file.fileName = ${s.logFile}`,
      `appender.file.filePattern = ${s.logFile}.%i`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'appender.file.policies.type = Policies',
      'appender.file.policies.size.type = SizeBasedTriggeringPolicy',
      'appender.file.policies.size.size = 50MB',
      'appender.file.strategy.type = DefaultRolloverStrategy',
      'appender.file.strategy.max = 2',
      'rootLogger.level = INFO',
      'rootLogger.appenderRef.file.ref = FILE',
      ...quiet.flatMap((name, i) => [`logger.q${i}.name = ${name}`, `logger.q${i}.level = WARN`]),
      '',
    ];
  } else {
    logConfig = [
      '# generated by scripts/infra.mjs',
      'log4j.rootLogger=INFO, file',
      'log4j.appender.file=org.apache.log4j.RollingFileAppender',
      `log4j.appender.file.File=${s.logFile}`,
      'log4j.appender.file.MaxFileSize=50MB',
      'log4j.appender.file.MaxBackupIndex=2',
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
      ...quiet.map((name) => `log4j.logger.${name}=WARN`),
      '',
    ];
  }
  fs.writeFileSync(s.logConfigFile, logConfig.join('\n'));
}

function jvmArgs(s, heapOpts) {
  const logFlag = s.logging === 'log4j2' ? `-Dlog4j2.configurationFile=${s.logConfigFile}` : `-Dlog4j.configuration=${pathToFileURL(s.logConfigFile).href}`;
  return [
    ...heapOpts.split(/\s+/).filter(Boolean),
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${s.home}`,
    logFlag,
    '-cp',
    `${s.libsDir}${path.sep}*`,
  ];
}

function runTool(s, args) {
  const r = spawnSync('java', [...jvmArgs(s, '-Xms64m -Xmx256m'), 'kafka.tools.StorageTool', ...args], { cwd: s.home, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new InfraError(`StorageTool ${args[0]} failed (exit ${r.status ?? r.signal}):\n${(r.stdout || '') + (r.stderr || '')}`.trim());
  }
  return r.stdout.trim();
}

function formatStorage(s) {
  if (fs.existsSync(path.join(s.dataDir, 'meta.properties'))) return null;
  // static quorum (controller.quorum.voters): no --standalone/--initial-controllers, valid on 3.x and 4.x
  const clusterId = runTool(s, ['random-uuid']).split(/\s+/).pop();
  if (!/^[A-Za-z0-9_-]{22}$/.test(clusterId)) throw new InfraError(`StorageTool random-uuid printed "${clusterId}"`);
  runTool(s, ['format', '-t', clusterId, '-c', s.propsFile]);
  return clusterId;
}

async function waitForBroker(s, brokers, child) {
  const deadline = Date.now() + s.startTimeoutMs;
  let exited = null;
  child?.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  while (Date.now() < deadline) {
    if (exited) throw new InfraError(`broker exited during startup (${exited.signal ?? `exit ${exited.code}`})`);
    const pid = child?.pid ?? readPid(s.pidFile);
    if (pid && !isAlive(pid)) throw new InfraError('broker process died during startup');
    if (await probeKafka(brokers, 2_000)) return;
    await sleep(500);
  }
  throw new InfraError(`broker did not answer on ${brokers.join(',')} within ${secs(s.startTimeoutMs)}`);
}

async function kafkaUp(secure = false) {
  const t0 = Date.now();
  const s = kafkaSettings();
  const brokers = [`${s.host}:${s.port}`];
  const tag = `kafka ${s.version}`;

  // 0. KAFKA_BROKERS names only other hosts: nothing to start here, just check them
  const configured = kafkaBrokers();
  if (!configured.some((b) => isLocalHost(b.slice(0, b.lastIndexOf(':'))))) {
    if (!(await probeKafka(configured, 10_000, clientSecurityFromEnv()))) throw new InfraError(`KAFKA_BROKERS=${configured.join(',')} does not answer (not local: nothing to start; check KAFKA_SSL*/KAFKA_SASL* too)`);
    if (secure) warn('kafka', '--secure applies to a local broker only: ignored');
    say('kafka', `KAFKA_BROKERS=${configured.join(',')} answers (not local: nothing started)`);
    return;
  }

  // 1. our own pid file: running, starting, or stale?
  const pid = readPid(s.pidFile);
  // This checkout's broker of this version may run on another KAFKA_PORT (it has one data dir).
  const elsewhere = pid !== null && isOurBroker(pid, s.propsFile) && propsPort(s.propsFile) !== s.port ? { pid, port: propsPort(s.propsFile) } : null;
  if (pid !== null && !elsewhere) {
    if (isOurBroker(pid, s.propsFile)) {
      if (!(await probeKafka(brokers))) {
        say(tag, `process ${pid} is running but not answering yet; waiting`);
        await waitForBroker(s, brokers, null).catch((err) => {
          printLogTails(s);
          throw err;
        });
      }
      say('kafka', `${s.version} already running on ${brokers[0]} (pid ${pid}, log ${rel(s.logFile)})`);
      if (secure) {
        if (propsSecurePort(s.propsFile) === s.securePort) await secureListenerUp(s, ensureLocalTls());
        else noSecureListener(s, `pid ${pid}, started without --secure`);
      }
      return;
    }
    warn(tag, `stale pid file (pid ${pid} is gone): cleaned up`);
    fs.rmSync(s.pidFile, { force: true });
  }

  // 2. someone else on the port?
  if (await probeKafka(brokers)) {
    const other = ourBrokers().find((b) => b.alive && b.port === s.port);
    const seen = other ? { pid: other.pid, version: other.settings.version } : versionListeningOn(s.port);
    const v = seen?.version;
    if (v && v !== s.version) {
      warn('kafka', `${v} already running on ${brokers[0]} (pid ${seen.pid}); requested ${s.version}: left as is (npm run infra:down first to switch)`);
    } else {
      say('kafka', `already running on ${brokers[0]}${v ? ` (${v}, pid ${seen.pid})` : ' (not started by this script)'}`);
    }
    if (secure) {
      // Not ours (another checkout's, or Docker): usable only if its secure listener takes our CA and user.
      const tls = ensureLocalTls();
      if ((await probeSecure(s, tls)) === 'ok') await secureListenerUp(s, tls);
      else noSecureListener(s, 'not started from this checkout');
    }
    return;
  }
  if (await portOpen(s.host, s.port)) {
    throw new InfraError(`${brokers[0]} is taken by something that does not answer as a Kafka broker; set KAFKA_PORT or free the port`);
  }
  if (elsewhere) {
    throw new InfraError(`this checkout's Kafka ${s.version} runs on port ${elsewhere.port} (pid ${elsewhere.pid}), not ${s.port}: set KAFKA_PORT=${elsewhere.port}, or \`npm run infra:down\` it first`);
  }

  // 3. resolve, configure, format, start
  requireTools(libsComplete(s) ? ['java'] : ['java', 'mvn'], s);
  resolveLibs(s);
  const tls = secure ? ensureLocalTls() : null;
  if (secure && (await portOpen(s.host, s.securePort))) throw new InfraError(`KAFKA_SECURE_PORT ${s.securePort} is taken; set another`);
  writeConfigs(s, tls);
  const clusterId = formatStorage(s);
  if (clusterId) say(tag, `formatted KRaft storage in ${rel(s.dataDir)} (cluster ${clusterId})`);

  const out = fs.openSync(s.outFile, 'a');
  const child = spawn('java', [...jvmArgs(s, s.heapOpts), 'kafka.Kafka', s.propsFile], {
    cwd: s.home,
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  if (!child.pid) throw new InfraError('could not spawn java');
  fs.writeFileSync(s.pidFile, `${child.pid}\n`);
  child.unref();
  try {
    await waitForBroker(s, brokers, child);
  } catch (err) {
    printLogTails(s);
    if (child.exitCode === null && isAlive(child.pid)) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(s.pidFile, { force: true });
    throw err;
  }
  say('kafka', `${s.version} started in ${secs(Date.now() - t0)} (pid ${child.pid}, ${brokers[0]}, log ${rel(s.logFile)})`);
  if (tls) await secureListenerUp(s, tls);
}

async function stopPid(pid, graceMs = 30_000) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'already gone';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'SIGTERM';
    await sleep(200);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  for (let i = 0; i < 25 && isAlive(pid); i++) await sleep(200);
  return 'SIGKILL after 30s';
}

async function kafkaDown(purge) {
  const base = path.join(ROOT, '.infra', 'kafka');
  const only = process.env.KAFKA_VERSION ? kafkaSettings().version : null;
  let stopped = 0;
  for (const b of ourBrokers()) {
    if (only && b.settings.version !== only) continue;
    const tag = `kafka ${b.settings.version}`;
    if (!b.alive) {
      fs.rmSync(b.settings.pidFile, { force: true });
      say(tag, `was not running (removed stale pid file, pid ${b.pid})`);
      continue;
    }
    const t0 = Date.now();
    const how = await stopPid(b.pid);
    fs.rmSync(b.settings.pidFile, { force: true });
    forgetSecureListener(propsSecurePort(b.settings.propsFile));
    say(tag, `stopped pid ${b.pid} (${how}, ${secs(Date.now() - t0)})`);
    stopped++;
  }
  if (stopped === 0) {
    const s = kafkaSettings();
    const foreign = (await probeKafka([`${s.host}:${s.port}`], 2_000)) ? ` (a broker not started by this script answers on ${s.host}:${s.port}: left alone)` : '';
    say('kafka', `nothing to stop${foreign}`);
  }
  if (purge) {
    let versions = [];
    try {
      versions = fs.readdirSync(base).filter((v) => /^\d+\.\d+\.\d+$/.test(v) && (!only || v === only));
    } catch {
      /* nothing there */
    }
    const purged = [];
    for (const v of versions) {
      const s = kafkaSettings({ ...process.env, KAFKA_VERSION: v });
      const pid = readPid(s.pidFile);
      if (pid !== null && isOurBroker(pid, s.propsFile)) {
        warn(`kafka ${v}`, `still running (pid ${pid}): data dir kept`);
        continue;
      }
      if (fs.existsSync(s.dataDir)) {
        fs.rmSync(s.dataDir, { recursive: true, force: true });
        purged.push(rel(s.dataDir));
      }
    }
    say('kafka', purged.length ? `purged ${purged.join(', ')}` : 'no data dir to purge');
  }
}

async function kafkaStatus() {
  const s = kafkaSettings();
  const brokers = kafkaBrokers();
  const ours = ourBrokers();
  for (const b of ours.filter((x) => !x.alive)) warn(`kafka ${b.settings.version}`, `stale pid file (pid ${b.pid} is gone)`);
  const cluster = await probeKafka(brokers, 3_000, clientSecurityFromEnv());
  const live = ours.filter((b) => b.alive);
  const proc = live.find((b) => brokers.includes(`127.0.0.1:${b.port}`)) || live[0];
  const seen = proc ? { pid: proc.pid, version: proc.settings.version } : versionListeningOn(s.port);
  const what = seen ? `${seen.version ?? 'unknown version'}, pid ${seen.pid}${proc ? '' : ', not started by this script'}` : 'not started by this script';
  if (cluster) {
    say('kafka', `${green('up')} on ${brokers.join(',')} (${what}, cluster ${cluster.clusterId}, ${cluster.brokers.length} broker${cluster.brokers.length === 1 ? '' : 's'})`);
    if (fs.existsSync(SECURE_LISTENER_FILE)) {
      const info = JSON.parse(fs.readFileSync(SECURE_LISTENER_FILE, 'utf8'));
      const ok = (await probeSecure({ host: s.host, securePort: Number(info.brokers[0].split(':').pop()) }, { ca: info.caFile, scramPasswordFile: info.passwordFile })) === 'ok';
      (ok ? say : warn)('kafka', `SASL_SSL listener ${info.brokers[0]}: ${ok ? green('up') : 'DOWN or refusing its SCRAM user'} (${rel(SECURE_LISTENER_FILE)})`);
    }
    if (seen?.version && seen.version !== s.version && proc) warn('kafka', `requested KAFKA_VERSION is ${s.version}`);
    return true;
  }
  if (proc) fail('kafka', `DOWN: process ${proc.pid} (${proc.settings.version}) is running but ${brokers.join(',')} does not answer (see ${rel(proc.settings.logFile)})`);
  else fail('kafka', `DOWN: nothing answers on ${brokers.join(',')}`);
  return false;
}

// ---------------------------------------------------------------------------------------------
// kafka: the secure listener (--secure / KAFKA_SECURE=1)

const TLS_DIR = path.join(ROOT, '.infra', 'tls');
const SCRAM_USER = 'enrollment-sync';
/** Where the tests (and you) find the secure listener: brokers, CA, user, password file. */
export const SECURE_LISTENER_FILE = path.join(ROOT, '.infra', 'kafka', 'secure-listener.json');

function openssl(args, what) {
  const r = spawnSync('openssl', args, { cwd: TLS_DIR, encoding: 'utf8' });
  if (r.error?.code === 'ENOENT') throw new InfraError('`openssl` not found on PATH: it makes the local CA and certificates for --secure');
  if (r.status !== 0) throw new InfraError(`openssl ${what} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`);
}

function randomSecret(file) {
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${crypto.randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

/**
 * A local CA and a certificate for 127.0.0.1/localhost signed by it (also usable by a test's
 * private Postgres or Redis), and the broker's PKCS12 keystore. Made once into .infra/tls/;
 * remade when a file is missing. Nothing here is a production secret.
 */
export function ensureLocalTls() {
  fs.mkdirSync(TLS_DIR, { recursive: true, mode: 0o700 });
  const f = (name) => path.join(TLS_DIR, name);
  const files = { ca: f('ca.pem'), caKey: f('ca.key'), cert: f('server.pem'), key: f('server.key'), keystore: f('broker.p12'), keystorePasswordFile: f('keystore-password'), scramPasswordFile: f('scram-password') };
  const keystorePassword = randomSecret(files.keystorePasswordFile);
  randomSecret(files.scramPasswordFile);
  let made = false;
  if (!fs.existsSync(files.ca) || !fs.existsSync(files.caKey)) {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.caKey, '-out', files.ca, '-days', '3650', '-subj', '/CN=enrollment-sync local CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], 'CA');
    fs.rmSync(files.cert, { force: true });
    made = true;
  }
  if (!fs.existsSync(files.cert) || !fs.existsSync(files.key)) {
    const csr = f('server.csr');
    const ext = f('server.ext');
    fs.writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.key, '-out', csr, '-subj', '/CN=localhost'], 'server key');
    openssl(['x509', '-req', '-in', csr, '-CA', files.ca, '-CAkey', files.caKey, '-set_serial', `0x${crypto.randomBytes(8).toString('hex')}`, '-days', '825', '-extfile', ext, '-out', files.cert], 'server certificate');
    fs.rmSync(csr, { force: true });
    fs.rmSync(files.keystore, { force: true });
    made = true;
  }
  if (!fs.existsSync(files.keystore)) {
    openssl(['pkcs12', '-export', '-in', files.cert, '-inkey', files.key, '-certfile', files.ca, '-name', 'broker', '-out', files.keystore, '-passout', `file:${files.keystorePasswordFile}`], 'broker keystore');
    made = true;
  }
  for (const k of [files.caKey, files.key, files.keystore]) fs.chmodSync(k, 0o600);
  if (made) say('tls', `local CA and 127.0.0.1 certificate made in ${rel(TLS_DIR)}`);
  return { ...files, keystorePassword };
}

function secureSecurity(tls) {
  return {
    ssl: { ca: fs.readFileSync(tls.ca) },
    sasl: { mechanism: 'scram-sha-512', username: SCRAM_USER, password: fs.readFileSync(tls.scramPasswordFile, 'utf8').trim() },
  };
}

/** Does the SASL_SSL listener let our SCRAM user in? 'ok', 'auth' (TLS fine, login refused) or 'down'. */
async function probeSecure(s, tls) {
  try {
    await withAdmin([`${s.host}:${s.securePort}`], (admin) => admin.describeCluster(), { timeoutMs: 5_000, security: secureSecurity(tls) });
    return 'ok';
  } catch (err) {
    return err?.name === 'KafkaJSSASLAuthenticationError' ? 'auth' : 'down';
  }
}

/** Creates (or resets) the SCRAM-SHA-512 user through the admin API, over the PLAINTEXT listener. */
function ensureScramUser(s, tls) {
  const file = path.join(TLS_DIR, `scram-${process.pid}.properties`);
  const password = fs.readFileSync(tls.scramPasswordFile, 'utf8').trim();
  // a file rather than --add-config keeps the password off the process list (no [] in a file)
  fs.writeFileSync(file, `SCRAM-SHA-512=password=${password}\n`, { mode: 0o600 });
  try {
    const r = spawnSync('java', [...jvmArgs(s, '-Xms64m -Xmx256m'), 'kafka.admin.ConfigCommand', '--bootstrap-server', `${s.host}:${s.port}`,
      '--alter', '--entity-type', 'users', '--entity-name', SCRAM_USER, '--add-config-file', file], { cwd: s.home, encoding: 'utf8' });
    const output = `${r.stderr || r.stdout}`.replaceAll(password, '<redacted>').trim().split('\n').slice(-5).join('\n');
    if (r.status !== 0) throw new InfraError(`creating SCRAM user ${SCRAM_USER} failed (exit ${r.status ?? r.signal}): ${output}`);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** The running broker has its SASL_SSL listener: make sure our user logs in, then say where it is. */
async function secureListenerUp(s, tls) {
  let state = await probeSecure(s, tls);
  if (state !== 'ok') {
    ensureScramUser(s, tls);
    for (let i = 0; i < 20 && state !== 'ok'; i++) {
      state = await probeSecure(s, tls);
      if (state !== 'ok') await sleep(500);
    }
  }
  if (state !== 'ok') throw new InfraError(`SASL_SSL listener on ${s.host}:${s.securePort} ${state === 'auth' ? `refuses SCRAM user ${SCRAM_USER}` : 'does not answer'} (see ${rel(s.logFile)})`);
  const info = { brokers: [`${s.host}:${s.securePort}`], mechanism: 'scram-sha-512', username: SCRAM_USER, passwordFile: tls.scramPasswordFile, caFile: tls.ca, plaintextBrokers: [`${s.host}:${s.port}`] };
  fs.writeFileSync(SECURE_LISTENER_FILE, `${JSON.stringify(info, null, 2)}\n`);
  say('kafka', `SASL_SSL listener ${info.brokers[0]} (SCRAM-SHA-512 user ${SCRAM_USER}, CA ${rel(tls.ca)}; details in ${rel(SECURE_LISTENER_FILE)})`);
}

/** The recorded secure listener goes with the broker that had it. */
function forgetSecureListener(securePort) {
  try {
    const info = JSON.parse(fs.readFileSync(SECURE_LISTENER_FILE, 'utf8'));
    if (securePort !== null && info.brokers.some((b) => b.endsWith(`:${securePort}`))) fs.rmSync(SECURE_LISTENER_FILE, { force: true });
  } catch {
    /* none recorded */
  }
}

/** A broker already running without the secure listener is left alone: say how to get one. */
function noSecureListener(s, whose) {
  forgetSecureListener(s.securePort);
  warn('kafka', `--secure: the broker on ${s.host}:${s.port} (${whose}) runs without a SASL_SSL listener on ${s.securePort}; left as is. ` +
    'To add it, restart that broker with `npm run infra:down && npm run infra:up -- --secure`, or run a second one: KAFKA_PORT=19092 KAFKA_SECURE_PORT=19094 npm run infra:up -- --secure');
}

// ---------------------------------------------------------------------------------------------
// postgres

async function pgReachable(url) {
  const client = new pg.Client({ connectionString: maintenanceUrl(url), connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return { ok: true };
  } catch (err) {
    return { ok: false, err };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const connRefused = (err) => ['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(err?.code) || /timeout/i.test(err?.message ?? '');

function tryStartPostgres() {
  if (!which('pg_ctlcluster')) return false;
  let versions = [];
  try {
    versions = fs.readdirSync('/etc/postgresql').filter((v) => fs.existsSync(path.join('/etc/postgresql', v, 'main')));
  } catch {
    return false;
  }
  let started = false;
  for (const v of versions) {
    say('postgres', `not reachable: pg_ctlcluster --skip-systemctl-redirect ${v} main start`);
    const r = spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', v, 'main', 'start'], { encoding: 'utf8' });
    if (r.status === 0) started = true;
    else console.error(dim((r.stderr || r.stdout || '').trim()));
  }
  return started;
}

async function postgresUp() {
  const targets = databaseTargets();
  const servers = [...new Set(targets.map((t) => maintenanceUrl(t.url)))];
  for (const server of servers) {
    let r = await pgReachable(server);
    if (!r.ok && connRefused(r.err) && isLocalHost(new URL(server).hostname) && tryStartPostgres()) {
      for (let i = 0; i < 30 && !r.ok; i++) {
        await sleep(500);
        r = await pgReachable(server);
      }
    }
    if (!r.ok) {
      throw new InfraError(`${safeUrl(server)} not reachable (${r.err?.code ?? ''} ${r.err?.message ?? ''}`.trim() + `). Start PostgreSQL, fix DATABASE_URL, or use Docker: ${DOCKER_HINT}`);
    }
  }
  const created = [];
  const present = [];
  for (const t of targets) {
    const client = new pg.Client({ connectionString: maintenanceUrl(t.url), connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [t.name]);
      if (rowCount > 0) {
        present.push(t.name);
        continue;
      }
      try {
        await client.query(`CREATE DATABASE "${t.name.replace(/"/g, '""')}"`);
        created.push(t.name);
      } catch (err) {
        if (err.code !== '42P04') throw err; // duplicate_database: a concurrent run won
        present.push(t.name);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const parts = [];
  if (created.length) parts.push(`database${created.length > 1 ? 's' : ''} ${created.join(', ')} created`);
  if (present.length) parts.push(`${present.join(', ')} already present`);
  say('postgres', `${parts.join('; ')} (${safeUrl(targets[0].url)})`);
}

async function postgresStatus() {
  let targets;
  try {
    targets = databaseTargets();
  } catch (err) {
    fail('postgres', err.message);
    return false;
  }
  const r = await pgReachable(targets[0].url);
  if (!r.ok) {
    fail('postgres', `DOWN: ${safeUrl(targets[0].url)} (${r.err?.code ?? r.err?.message})`);
    return false;
  }
  let ok = true;
  const states = [];
  for (const t of targets) {
    const client = new pg.Client({ connectionString: maintenanceUrl(t.url), connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [t.name]);
      states.push(`${t.name} ${rowCount ? 'present' : red('MISSING')}`);
      if (!rowCount) ok = false;
    } catch (err) {
      states.push(`${t.name} ${red(`unreachable (${err.code ?? err.message})`)}`);
      ok = false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  (ok ? say : fail)('postgres', `${ok ? green('up') : 'DEGRADED:'} at ${safeUrl(targets[0].url)}, databases: ${states.join(', ')}`);
  return ok;
}

// ---------------------------------------------------------------------------------------------
// redis

async function redisPing(url) {
  const caFile = process.env.REDIS_TLS_CA_FILE;
  const client = new Redis(url, {
    ...(url.startsWith('rediss:') && caFile ? { tls: { ca: fs.readFileSync(caFile) } } : {}),
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const pong = await client.ping();
    let version = null;
    try {
      version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? null;
    } catch {
      /* ACL may forbid INFO */
    }
    return { ok: pong === 'PONG', version };
  } catch (err) {
    return { ok: false, err };
  } finally {
    client.disconnect();
  }
}

function redisUrl() {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';
  const u = new URL(url);
  if (!['redis:', 'rediss:'].includes(u.protocol)) throw new InfraError('REDIS_URL must be a redis:// URL');
  return url;
}

function writableDir(dir) {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function redisUp() {
  const url = redisUrl();
  const u = new URL(url);
  let r = await redisPing(url);
  if (r.ok) {
    say('redis', `up at ${safeUrl(url)}${r.version ? ` (redis ${r.version})` : ''}`);
    return;
  }
  if (!isLocalHost(u.hostname) || !which('redis-server')) {
    throw new InfraError(`${safeUrl(url)} does not answer PING (${r.err?.message ?? 'no PONG'}). Start Redis, fix REDIS_URL, or use Docker: ${DOCKER_HINT}`);
  }
  const port = u.port || '6379';
  // the machine's usual places; this repo's .infra/redis when those aren't writable (not root)
  const dir = writableDir('/var/lib/redis') ? '/var/lib/redis' : path.join(ROOT, '.infra', 'redis');
  const logfile = writableDir('/var/log/redis') ? '/var/log/redis/ci.log' : path.join(ROOT, '.infra', 'redis', 'redis.log');
  fs.mkdirSync(dir, { recursive: true });
  const major = Number(/v=(\d+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout || '')?.[1] ?? 0);
  const bind = major >= 7 ? ['127.0.0.1', '-::1'] : ['127.0.0.1'];
  const args = ['--daemonize', 'yes', '--bind', ...bind, '--port', port, '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', logfile];
  say('redis', `not answering: redis-server ${args.map((a) => (a === '' ? '""' : a)).join(' ')}`);
  const res = spawnSync('redis-server', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new InfraError(`redis-server failed to start: ${(res.stderr || res.stdout).trim()}`);
  for (let i = 0; i < 40 && !r.ok; i++) {
    await sleep(250);
    r = await redisPing(url);
  }
  if (!r.ok) throw new InfraError(`redis-server started but ${safeUrl(url)} does not answer PING; see ${logfile}`);
  say('redis', `started at ${safeUrl(url)} (redis ${r.version ?? '?'}, log ${logfile})`);
}

async function redisStatus() {
  let url;
  try {
    url = redisUrl();
  } catch (err) {
    fail('redis', err.message);
    return false;
  }
  const r = await redisPing(url);
  if (r.ok) say('redis', `${green('up')} at ${safeUrl(url)}${r.version ? ` (redis ${r.version})` : ''}`);
  else fail('redis', `DOWN: ${safeUrl(url)} (${r.err?.message ?? 'no PONG'})`);
  return r.ok;
}

// ---------------------------------------------------------------------------------------------
// topics

async function topicsUp() {
  const { created, existing } = await ensureTopics();
  const parts = [];
  parts.push(`created ${created.length}${created.length ? ` (${created.join(', ')})` : ''}`);
  if (existing.length) parts.push(`${existing.length} already present`);
  say('topics', parts.join(', '));
  for (const e of existing.filter((x) => x.partitions !== x.wanted)) {
    warn('topics', `${e.topic} has ${e.partitions} partitions (wanted ${e.wanted}); left as is`);
  }
}

async function topicsStatus() {
  const specs = topicSpecs();
  try {
    return await withAdmin(kafkaBrokers(), async (admin) => {
      const present = new Set(await admin.listTopics());
      const have = specs.filter((t) => present.has(t.topic));
      const meta = have.length ? (await admin.fetchTopicMetadata({ topics: have.map((t) => t.topic) })).topics : [];
      const missing = specs.filter((t) => !present.has(t.topic)).map((t) => t.topic);
      const list = specs.map((t) => {
        const m = meta.find((x) => x.name === t.topic);
        return m ? `${t.topic}(${m.partitions.length})` : `${t.topic}(${red('missing')})`;
      });
      (missing.length ? fail : say)('topics', `${missing.length ? `${missing.length} MISSING` : green('all present')}: ${list.join(' ')}`);
      return missing.length === 0;
    }, { security: clientSecurityFromEnv() });
  } catch (err) {
    fail('topics', `cannot list topics (${err.message})`);
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// commands

async function step(name, fn) {
  try {
    await fn();
    return true;
  } catch (err) {
    fail(name, err instanceof InfraError ? err.message : err?.stack || String(err));
    return false;
  }
}

async function up(args) {
  const t0 = Date.now();
  const secure = args.includes('--secure') || ['1', 'true', 'on', 'yes'].includes((process.env.KAFKA_SECURE ?? '').toLowerCase());
  const results = [await step('postgres', postgresUp), await step('redis', redisUp)];
  const kafkaOk = await step('kafka', () => kafkaUp(secure));
  results.push(kafkaOk);
  if (kafkaOk) results.push(await step('topics', topicsUp));
  else fail('topics', 'skipped (no broker)');
  const ok = results.every(Boolean);
  console.log(`infra up: ${ok ? 'ready' : red('FAILED')} in ${secs(Date.now() - t0)}`);
  return ok;
}

async function down(args) {
  const ok = await step('kafka', () => kafkaDown(args.includes('--purge')));
  console.log('postgres, redis: left running (they belong to the machine)');
  return ok;
}

async function status() {
  const results = [];
  results.push(await postgresStatus());
  results.push(await redisStatus());
  const kafkaOk = await kafkaStatus().catch((err) => (fail('kafka', err.message), false));
  results.push(kafkaOk);
  results.push(kafkaOk ? await topicsStatus() : (fail('topics', 'unknown (no broker)'), false));
  return results.every(Boolean);
}

function usage() {
  console.error('usage: node scripts/infra.mjs up [--secure] | status | down [--purge]');
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  const commands = { up: () => up(rest), down: () => down(rest), status };
  if (!commands[cmd]) {
    usage();
    return 2;
  }
  try {
    return (await commands[cmd]()) ? 0 : 1;
  } catch (err) {
    console.error(`infra ${cmd}: ${red(err instanceof InfraError ? err.message : err?.stack || err)}`);
    return 1;
  }
}

const invokedDirectly = (() => {
  try {
    return process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
