/**
 * The broker's SASL_SSL listener (`up --secure` / KAFKA_SECURE=1): a local CA and certificate
 * made with openssl, a SCRAM-SHA-512 user, and .infra/kafka/secure-listener.json telling the
 * tests (and you) where it is.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ClientSecurity, withAdmin } from './kafka-admin';
import { jvmArgs } from './kafka-config';
import { InfraError, INFRA_DIR, rel, say, sleep } from './output';
import type { KafkaSettings } from './settings';

const TLS_DIR = path.join(INFRA_DIR, 'tls');
const SCRAM_USER = 'enrollment-sync';
/** Where the tests (and you) find the secure listener: brokers, CA, user, password file. */
export const SECURE_LISTENER_FILE = path.join(INFRA_DIR, 'kafka', 'secure-listener.json');

export interface LocalTls {
  ca: string;
  caKey: string;
  cert: string;
  key: string;
  keystore: string;
  keystorePasswordFile: string;
  scramPasswordFile: string;
  keystorePassword: string;
}

/** The contents of SECURE_LISTENER_FILE. */
export interface SecureListenerInfo {
  brokers: string[];
  mechanism: 'scram-sha-512';
  username: string;
  passwordFile: string;
  caFile: string;
  plaintextBrokers: string[];
}

function openssl(args: string[], what: string): void {
  const r = spawnSync('openssl', args, { cwd: TLS_DIR, encoding: 'utf8' });
  if (r.error && 'code' in r.error && r.error.code === 'ENOENT') {
    throw new InfraError('`openssl` not found on PATH: it makes the local CA and certificates for --secure');
  }
  if (r.status !== 0) throw new InfraError(`openssl ${what} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`);
}

function randomSecret(file: string): string {
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${crypto.randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

/**
 * A local CA and a certificate for 127.0.0.1/localhost signed by it (also usable by a test's
 * private Postgres or Redis), and the broker's PKCS12 keystore. Made once into .infra/tls/;
 * remade when a file is missing. Nothing here is a production secret.
 */
export function ensureLocalTls(): LocalTls {
  fs.mkdirSync(TLS_DIR, { recursive: true, mode: 0o700 });
  const f = (name: string) => path.join(TLS_DIR, name);
  const files = {
    ca: f('ca.pem'),
    caKey: f('ca.key'),
    cert: f('server.pem'),
    key: f('server.key'),
    keystore: f('broker.p12'),
    keystorePasswordFile: f('keystore-password'),
    scramPasswordFile: f('scram-password'),
  };
  const keystorePassword = randomSecret(files.keystorePasswordFile);
  randomSecret(files.scramPasswordFile);
  let made = false;
  if (!fs.existsSync(files.ca) || !fs.existsSync(files.caKey)) {
    // prettier-ignore
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.caKey, '-out', files.ca, '-days', '3650', '-subj', '/CN=enrollment-sync local CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], 'CA');
    fs.rmSync(files.cert, { force: true });
    made = true;
  }
  if (!fs.existsSync(files.cert) || !fs.existsSync(files.key)) {
    const csr = f('server.csr');
    const ext = f('server.ext');
    fs.writeFileSync(
      ext,
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
    );
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.key, '-out', csr, '-subj', '/CN=localhost'], 'server key');
    // prettier-ignore
    openssl(['x509', '-req', '-in', csr, '-CA', files.ca, '-CAkey', files.caKey, '-set_serial', `0x${crypto.randomBytes(8).toString('hex')}`, '-days', '825', '-extfile', ext, '-out', files.cert], 'server certificate');
    fs.rmSync(csr, { force: true });
    fs.rmSync(files.keystore, { force: true });
    made = true;
  }
  if (!fs.existsSync(files.keystore)) {
    // prettier-ignore
    openssl(['pkcs12', '-export', '-in', files.cert, '-inkey', files.key, '-certfile', files.ca, '-name', 'broker', '-out', files.keystore, '-passout', `file:${files.keystorePasswordFile}`], 'broker keystore');
    made = true;
  }
  for (const k of [files.caKey, files.key, files.keystore]) fs.chmodSync(k, 0o600);
  if (made) say('tls', `local CA and 127.0.0.1 certificate made in ${rel(TLS_DIR)}`);
  return { ...files, keystorePassword };
}

function secureSecurity(tls: Pick<LocalTls, 'ca' | 'scramPasswordFile'>): ClientSecurity {
  return {
    ssl: { ca: fs.readFileSync(tls.ca) },
    sasl: { mechanism: 'scram-sha-512', username: SCRAM_USER, password: fs.readFileSync(tls.scramPasswordFile, 'utf8').trim() },
  };
}

/** Does the SASL_SSL listener let our SCRAM user in? 'ok', 'auth' (TLS fine, login refused) or 'down'. */
export async function probeSecure(s: Pick<KafkaSettings, 'host' | 'securePort'>, tls: Pick<LocalTls, 'ca' | 'scramPasswordFile'>): Promise<'ok' | 'auth' | 'down'> {
  try {
    await withAdmin([`${s.host}:${s.securePort}`], (admin) => admin.describeCluster(), { timeoutMs: 5_000, security: secureSecurity(tls) });
    return 'ok';
  } catch (err) {
    return (err as Error | null)?.name === 'KafkaJSSASLAuthenticationError' ? 'auth' : 'down';
  }
}

/** Creates (or resets) the SCRAM-SHA-512 user through the admin API, over the PLAINTEXT listener. */
function ensureScramUser(s: KafkaSettings, tls: LocalTls): void {
  const file = path.join(TLS_DIR, `scram-${process.pid}.properties`);
  const password = fs.readFileSync(tls.scramPasswordFile, 'utf8').trim();
  // a file rather than --add-config keeps the password off the process list (no [] in a file)
  fs.writeFileSync(file, `SCRAM-SHA-512=password=${password}\n`, { mode: 0o600 });
  try {
    // prettier-ignore
    const r = spawnSync('java', [...jvmArgs(s, '-Xms64m -Xmx256m'), 'kafka.admin.ConfigCommand', '--bootstrap-server', `${s.host}:${s.port}`,
      '--alter', '--entity-type', 'users', '--entity-name', SCRAM_USER, '--add-config-file', file], { cwd: s.home, encoding: 'utf8' });
    const output = `${r.stderr || r.stdout}`.replaceAll(password, '<redacted>').trim().split('\n').slice(-5).join('\n');
    if (r.status !== 0) throw new InfraError(`creating SCRAM user ${SCRAM_USER} failed (exit ${r.status ?? r.signal}): ${output}`);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** The running broker has its SASL_SSL listener: make sure our user logs in, then say where it is. */
export async function secureListenerUp(s: KafkaSettings, tls: LocalTls): Promise<void> {
  let state = await probeSecure(s, tls);
  if (state !== 'ok') {
    ensureScramUser(s, tls);
    for (let i = 0; i < 20 && state !== 'ok'; i++) {
      state = await probeSecure(s, tls);
      if (state !== 'ok') await sleep(500);
    }
  }
  if (state !== 'ok') {
    throw new InfraError(
      `SASL_SSL listener on ${s.host}:${s.securePort} ${state === 'auth' ? `refuses SCRAM user ${SCRAM_USER}` : 'does not answer'} (see ${rel(s.logFile)})`,
    );
  }
  const info: SecureListenerInfo = {
    brokers: [`${s.host}:${s.securePort}`],
    mechanism: 'scram-sha-512',
    username: SCRAM_USER,
    passwordFile: tls.scramPasswordFile,
    caFile: tls.ca,
    plaintextBrokers: [`${s.host}:${s.port}`],
  };
  fs.writeFileSync(SECURE_LISTENER_FILE, `${JSON.stringify(info, null, 2)}\n`);
  say('kafka', `SASL_SSL listener ${info.brokers[0]} (SCRAM-SHA-512 user ${SCRAM_USER}, CA ${rel(tls.ca)}; details in ${rel(SECURE_LISTENER_FILE)})`);
}

export function readSecureListener(): SecureListenerInfo | null {
  try {
    return JSON.parse(fs.readFileSync(SECURE_LISTENER_FILE, 'utf8')) as SecureListenerInfo;
  } catch {
    return null;
  }
}

/** The recorded secure listener goes with the broker that had it. */
export function forgetSecureListener(securePort: number | null): void {
  const info = readSecureListener();
  if (info && securePort !== null && info.brokers.some((b) => b.endsWith(`:${securePort}`))) fs.rmSync(SECURE_LISTENER_FILE, { force: true });
}

/** A broker already running without the secure listener is left alone: say how to get one. */
export function noSecureListener(s: KafkaSettings, whose: string): never {
  forgetSecureListener(s.securePort);
  throw new InfraError(
    `--secure: the broker on ${s.host}:${s.port} (${whose}) runs without a SASL_SSL listener on ${s.securePort}, and it is not ` +
      "this checkout's to restart. Stop it, or run this checkout's own on other ports: KAFKA_PORT=19092 KAFKA_SECURE_PORT=19094 npm run infra:up -- --secure",
  );
}
