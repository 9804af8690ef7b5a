/**
 * The local broker's SASL_SSL listener, as `npm run infra:up -- --secure` records it in
 * .infra/kafka/secure-listener.json (npm test starts the broker that way). A suite that needs it
 * fails at once, saying how to get it, when it is not there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ensureLocalTls } from '../../scripts/infra/secure-listener';

const ROOT = join(__dirname, '..', '..');
export const SECURE_LISTENER_FILE = join(ROOT, '.infra', 'kafka', 'secure-listener.json');
const HOW =
  'start the local broker with `npm run infra:up -- --secure` (npm test does; a broker already running without it must be restarted, or run a second one with KAFKA_PORT/KAFKA_SECURE_PORT)';

export interface SecureListener {
  brokers: string[];
  mechanism: 'scram-sha-512';
  username: string;
  passwordFile: string;
  caFile: string;
}

function answers(broker: string, timeoutMs = 5000): Promise<boolean> {
  const i = broker.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: broker.slice(0, i), port: Number(broker.slice(i + 1)) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function secureListener(): Promise<SecureListener> {
  if (!existsSync(SECURE_LISTENER_FILE)) throw new Error(`No SASL_SSL listener recorded (${SECURE_LISTENER_FILE} is missing): ${HOW}`);
  const info = JSON.parse(readFileSync(SECURE_LISTENER_FILE, 'utf8')) as SecureListener;
  if (!(await answers(info.brokers[0]))) throw new Error(`The SASL_SSL listener ${info.brokers[0]} recorded in ${SECURE_LISTENER_FILE} does not answer: ${HOW}`);
  return info;
}

/** The service's env for the secure listener: TLS verified against the local CA, SCRAM-SHA-512. */
export function secureEnv(l: SecureListener): Record<string, string> {
  return {
    KAFKA_BROKERS: l.brokers.join(','),
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: l.caFile,
    KAFKA_SASL_MECHANISM: l.mechanism,
    KAFKA_SASL_USERNAME: l.username,
    KAFKA_SASL_PASSWORD_FILE: l.passwordFile,
  };
}

/** The local CA and its 127.0.0.1 certificate (.infra/tls), made by the same code as infra's. */
export function localTls(): { ca: string; cert: string; key: string } {
  const { ca, cert, key } = ensureLocalTls();
  return { ca, cert, key };
}

/** A CA of its own that signed nothing the brokers present: for "wrong CA" cases. */
export function unrelatedCa(dir: string): string {
  const ca = join(dir, 'unrelated-ca.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'unrelated-ca.key'), '-out', ca, '-days', '1', '-subj', '/CN=unrelated test CA'],
    { stdio: 'ignore' },
  );
  return ca;
}
