/**
 * The local single-node KRaft broker: resolved from Maven Central (deploy/kafka/pom.xml) into
 * .cache/kafka, configured, formatted and run with the machine's java from .infra/kafka. One
 * broker per Kafka version per checkout (one data dir each); a broker this checkout did not
 * start is only ever probed, never stopped.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { clientSecurityFromEnv, probeKafka, portOpen } from './kafka-admin';
import { jvmArgs, logConfig, plaintextPortIn, securePortIn, serverProperties, BrokerKeystore } from './kafka-config';
import { DOCKER_HINT, fail, green, InfraError, INFRA_DIR, rel, ROOT, say, secs, sleep, warn } from './output';
import { cmdline, isAlive, readPid, stopPid, tail, versionListeningOn, which } from './processes';
import { ensureLocalTls, forgetSecureListener, noSecureListener, probeSecure, readSecureListener, SECURE_LISTENER_FILE, secureListenerUp } from './secure-listener';
import { isLocalHost, kafkaBrokers, kafkaSettings, KafkaSettings } from './settings';

const POM = path.join(ROOT, 'deploy', 'kafka', 'pom.xml');
const KAFKA_HOME_BASE = path.join(INFRA_DIR, 'kafka');

const settings = (env: NodeJS.ProcessEnv = process.env) => kafkaSettings(ROOT, env);

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
const propsPort = (propsFile: string) => plaintextPortIn(readText(propsFile));
const propsSecurePort = (propsFile: string) => securePortIn(readText(propsFile));

/** Is `pid` the broker started with this server.properties? (guards against pid reuse) */
function isOurBroker(pid: number, propsFile: string): boolean {
  if (!isAlive(pid)) return false;
  const args = cmdline(pid);
  if (args === null) return true; // no /proc (macOS): trust the pid file
  return args.includes('kafka.Kafka') && args.includes(propsFile);
}

interface OurBroker {
  settings: KafkaSettings;
  pid: number;
  port: number | null;
  alive: boolean;
}

/** Brokers this checkout started (pid files), any version, alive or not. */
function ourBrokers(): OurBroker[] {
  let versions: string[] = [];
  try {
    versions = fs.readdirSync(KAFKA_HOME_BASE).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  } catch {
    return [];
  }
  const found: OurBroker[] = [];
  for (const version of versions) {
    const s = settings({ ...process.env, KAFKA_VERSION: version });
    const pid = readPid(s.pidFile);
    if (pid === null) continue;
    found.push({ settings: s, pid, port: propsPort(s.propsFile), alive: isOurBroker(pid, s.propsFile) });
  }
  return found;
}

function printLogTails(s: KafkaSettings): void {
  for (const f of [s.logFile, s.outFile]) {
    const t = tail(f).trim();
    if (t) console.error(`---- last lines of ${rel(f)} ----\n${t}\n----`);
  }
}

function requireTools(tools: string[], s: KafkaSettings): void {
  const missing = tools.filter((t) => !which(t));
  if (missing.length === 0) return;
  throw new InfraError(
    `cannot run Kafka ${s.version} locally: ${missing.map((t) => `\`${t}\``).join(' and ')} not found on PATH ` +
      `(needs a JDK 17+ and Maven 3.6+). Install them, or use Docker instead: ${DOCKER_HINT}`,
  );
}

function libsComplete(s: KafkaSettings): boolean {
  return fs.existsSync(path.join(s.libsDir, '.complete')) && fs.existsSync(path.join(s.libsDir, `kafka_2.13-${s.version}.jar`));
}

/** Resolves the broker's jars with Maven into a temporary dir, renamed into place only when complete. */
function resolveLibs(s: KafkaSettings): boolean {
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
    {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MAVEN_OPTS: process.env.MAVEN_OPTS || '-Xmx512m' },
    },
  );
  if (r.status !== 0 || !fs.existsSync(path.join(tmp, `kafka_2.13-${s.version}.jar`))) {
    fs.rmSync(tmp, { recursive: true, force: true });
    try {
      fs.rmdirSync(path.dirname(s.libsDir)); // only if empty: nothing was ever resolved for it
    } catch {
      /* not empty */
    }
    const output = `${r.stdout || ''}${r.stderr || ''}`.replace(/\x1b\[[0-9;]*m/g, '').trim();
    if (output) console.error(output.split('\n').slice(-30).join('\n'));
    throw new InfraError(`mvn could not resolve Kafka ${s.version} (exit ${r.status ?? r.signal}); is it a released version?`);
  }
  const jars = fs.readdirSync(tmp).filter((f) => f.endsWith('.jar'));
  const stamp = { version: s.version, logging: s.logging, jars: jars.length, resolvedAt: new Date().toISOString() };
  fs.writeFileSync(path.join(tmp, '.complete'), `${JSON.stringify(stamp)}\n`);
  fs.rmSync(s.libsDir, { recursive: true, force: true });
  fs.renameSync(tmp, s.libsDir);
  say(`kafka ${s.version}`, `resolved ${jars.length} jars in ${secs(Date.now() - t0)}`);
  return true;
}

function writeConfigs(s: KafkaSettings, tls: BrokerKeystore | null): void {
  fs.mkdirSync(s.dataDir, { recursive: true });
  fs.writeFileSync(s.propsFile, serverProperties(s, tls));
  fs.writeFileSync(s.logConfigFile, logConfig(s));
}

function runStorageTool(s: KafkaSettings, args: string[]): string {
  const r = spawnSync('java', [...jvmArgs(s, '-Xms64m -Xmx256m'), 'kafka.tools.StorageTool', ...args], { cwd: s.home, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new InfraError(`StorageTool ${args[0]} failed (exit ${r.status ?? r.signal}):\n${(r.stdout || '') + (r.stderr || '')}`.trim());
  }
  return r.stdout.trim();
}

/** Formats the data dir once; returns the new cluster id, or null when it was formatted before. */
function formatStorage(s: KafkaSettings): string | null {
  if (fs.existsSync(path.join(s.dataDir, 'meta.properties'))) return null;
  // static quorum (controller.quorum.voters): no --standalone/--initial-controllers, valid on 3.x and 4.x
  const clusterId = runStorageTool(s, ['random-uuid']).split(/\s+/).pop() ?? '';
  if (!/^[A-Za-z0-9_-]{22}$/.test(clusterId)) throw new InfraError(`StorageTool random-uuid printed "${clusterId}"`);
  runStorageTool(s, ['format', '-t', clusterId, '-c', s.propsFile]);
  return clusterId;
}

async function waitForBroker(s: KafkaSettings, brokers: string[], child: ChildProcess | null): Promise<void> {
  const deadline = Date.now() + s.startTimeoutMs;
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  child?.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  while (Date.now() < deadline) {
    // `exited` is set by the listener above, between the awaits of this loop.
    const gone = exited as { code: number | null; signal: NodeJS.Signals | null } | null;
    if (gone) throw new InfraError(`broker exited during startup (${gone.signal ?? `exit ${gone.code}`})`);
    const pid = child?.pid ?? readPid(s.pidFile);
    if (pid && !isAlive(pid)) throw new InfraError('broker process died during startup');
    if (await probeKafka(brokers, 2_000)) return;
    await sleep(500);
  }
  throw new InfraError(`broker did not answer on ${brokers.join(',')} within ${secs(s.startTimeoutMs)}`);
}

export async function kafkaUp(secure = false): Promise<void> {
  const t0 = Date.now();
  const s = settings();
  const brokers = [`${s.host}:${s.port}`];
  const tag = `kafka ${s.version}`;

  // 0. KAFKA_BROKERS names only other hosts: nothing to start here, just check them
  const configured = kafkaBrokers();
  if (!configured.some((b) => isLocalHost(b.slice(0, b.lastIndexOf(':'))))) {
    if (!(await probeKafka(configured, 10_000, clientSecurityFromEnv()))) {
      throw new InfraError(`KAFKA_BROKERS=${configured.join(',')} does not answer (not local: nothing to start; check KAFKA_SSL*/KAFKA_SASL* too)`);
    }
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
        await waitForBroker(s, brokers, null).catch((err: unknown) => {
          printLogTails(s);
          throw err;
        });
      }
      const hasSecure = propsSecurePort(s.propsFile) === s.securePort;
      if (!secure || hasSecure) {
        say('kafka', `${s.version} already running on ${brokers[0]} (pid ${pid}, log ${rel(s.logFile)})`);
        if (hasSecure) await secureListenerUp(s, ensureLocalTls());
        return;
      }
      // Ours, and without the listener asked for (started before every local broker had one):
      // restarted with it, so one broker configuration serves `npm start`, the demo and the tests.
      const how = await stopPid(pid);
      fs.rmSync(s.pidFile, { force: true });
      say(tag, `stopped pid ${pid} (${how}): it ran without the SASL_SSL listener on ${s.securePort}; starting it again with one`);
    } else {
      warn(tag, `stale pid file (pid ${pid} is gone): cleaned up`);
      fs.rmSync(s.pidFile, { force: true });
    }
  }

  // 2. someone else on the port?
  if (await probeKafka(brokers)) {
    const other = ourBrokers().find((b) => b.alive && b.port === s.port);
    const seen = other ? { pid: other.pid, version: other.settings.version } : versionListeningOn(s.port);
    const v = seen?.version;
    if (seen && v && v !== s.version) {
      warn('kafka', `${v} already running on ${brokers[0]} (pid ${seen.pid}); requested ${s.version}: left as is (npm run infra:down first to switch)`);
    } else {
      say('kafka', `already running on ${brokers[0]}${seen && v ? ` (${v}, pid ${seen.pid})` : ' (not started by this script)'}`);
    }
    if (secure) {
      // Not ours (another checkout's, or Docker): usable only if its secure listener takes our CA and user.
      const tls = ensureLocalTls();
      if ((await probeSecure(s, tls)) === 'ok') await secureListenerUp(s, tls);
      else noSecureListener(s, 'not started from this checkout'); // throws: it cannot be restarted from here
    }
    return;
  }
  if (await portOpen(s.host, s.port)) {
    throw new InfraError(`${brokers[0]} is taken by something that does not answer as a Kafka broker; set KAFKA_PORT or free the port`);
  }
  if (elsewhere) {
    throw new InfraError(
      `this checkout's Kafka ${s.version} runs on port ${elsewhere.port} (pid ${elsewhere.pid}), not ${s.port}: set KAFKA_PORT=${elsewhere.port}, or \`npm run infra:down\` it first`,
    );
  }

  // 3. resolve, configure, format, start
  requireTools(libsComplete(s) ? ['java'] : ['java', 'mvn'], s);
  resolveLibs(s);
  // Every broker this checkout starts has the SASL_SSL listener, asked for or not: a broker that
  // `npm start` or the demo brought up then also serves the tests that need it.
  let tls: ReturnType<typeof ensureLocalTls> | null = null;
  try {
    tls = ensureLocalTls();
  } catch (err) {
    if (secure) throw err;
    warn(tag, `starting without the SASL_SSL listener: ${(err as Error).message}`);
  }
  if (tls && (await portOpen(s.host, s.securePort))) {
    if (secure) throw new InfraError(`KAFKA_SECURE_PORT ${s.securePort} is taken; set another`);
    warn(tag, `KAFKA_SECURE_PORT ${s.securePort} is taken: starting without the SASL_SSL listener (set another port to have it)`);
    tls = null;
  }
  writeConfigs(s, tls);
  const clusterId = formatStorage(s);
  if (clusterId) say(tag, `formatted KRaft storage in ${rel(s.dataDir)} (cluster ${clusterId})`);

  const out = fs.openSync(s.outFile, 'a');
  const child = spawn('java', [...jvmArgs(s, s.heapOpts), 'kafka.Kafka', s.propsFile], { cwd: s.home, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  if (!child.pid) throw new InfraError('could not spawn java');
  const childPid = child.pid;
  fs.writeFileSync(s.pidFile, `${childPid}\n`);
  child.unref();
  try {
    await waitForBroker(s, brokers, child);
  } catch (err) {
    printLogTails(s);
    if (child.exitCode === null && isAlive(childPid)) {
      try {
        process.kill(childPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(s.pidFile, { force: true });
    throw err;
  }
  // bench/drill/faults.ts reads this line's shape back from `status`; keep "(x.y.z, pid" there.
  say('kafka', `${s.version} started in ${secs(Date.now() - t0)} (pid ${childPid}, ${brokers[0]}, log ${rel(s.logFile)})`);
  if (tls) await secureListenerUp(s, tls);
}

/** Stops every broker this checkout started (only KAFKA_VERSION's when set); --purge also deletes their data dirs. */
export async function kafkaDown(purge: boolean): Promise<void> {
  const only = process.env.KAFKA_VERSION ? settings().version : null;
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
    // bench/drill/faults.ts looks for "stopped pid" to know the broker was ours.
    say(tag, `stopped pid ${b.pid} (${how}, ${secs(Date.now() - t0)})`);
    stopped++;
  }
  if (stopped === 0) {
    const s = settings();
    const foreign = (await probeKafka([`${s.host}:${s.port}`], 2_000)) ? ` (a broker not started by this script answers on ${s.host}:${s.port}: left alone)` : '';
    say('kafka', `nothing to stop${foreign}`);
  }
  if (purge) {
    let versions: string[] = [];
    try {
      versions = fs.readdirSync(KAFKA_HOME_BASE).filter((v) => /^\d+\.\d+\.\d+$/.test(v) && (!only || v === only));
    } catch {
      /* nothing there */
    }
    const purged: string[] = [];
    for (const v of versions) {
      const s = settings({ ...process.env, KAFKA_VERSION: v });
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

export async function kafkaStatus(): Promise<boolean> {
  const s = settings();
  const brokers = kafkaBrokers();
  const ours = ourBrokers();
  for (const b of ours.filter((x) => !x.alive)) warn(`kafka ${b.settings.version}`, `stale pid file (pid ${b.pid} is gone)`);
  const cluster = await probeKafka(brokers, 3_000, clientSecurityFromEnv());
  const live = ours.filter((b) => b.alive);
  const proc = live.find((b) => brokers.includes(`127.0.0.1:${b.port}`)) ?? live[0];
  const seen = proc ? { pid: proc.pid, version: proc.settings.version } : versionListeningOn(s.port);
  const what = seen ? `${seen.version ?? 'unknown version'}, pid ${seen.pid}${proc ? '' : ', not started by this script'}` : 'not started by this script';
  if (cluster) {
    // bench/drill/faults.ts parses "kafka: up on <brokers> (x.y.z, pid" from this line.
    say(
      'kafka',
      `${green('up')} on ${brokers.join(',')} (${what}, cluster ${cluster.clusterId}, ${cluster.brokers.length} broker${cluster.brokers.length === 1 ? '' : 's'})`,
    );
    const info = readSecureListener();
    if (info) {
      const securePort = Number(info.brokers[0].split(':').pop());
      const ok = (await probeSecure({ host: s.host, securePort }, { ca: info.caFile, scramPasswordFile: info.passwordFile })) === 'ok';
      (ok ? say : warn)('kafka', `SASL_SSL listener ${info.brokers[0]}: ${ok ? green('up') : 'DOWN or refusing its SCRAM user'} (${rel(SECURE_LISTENER_FILE)})`);
    }
    if (seen?.version && seen.version !== s.version && proc) warn('kafka', `requested KAFKA_VERSION is ${s.version}`);
    return true;
  }
  if (proc) fail('kafka', `DOWN: process ${proc.pid} (${proc.settings.version}) is running but ${brokers.join(',')} does not answer (see ${rel(proc.settings.logFile)})`);
  else fail('kafka', `DOWN: nothing answers on ${brokers.join(',')}`);
  return false;
}
