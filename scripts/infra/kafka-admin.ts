/** Short-lived kafkajs admin clients for the infra commands (silent unless INFRA_DEBUG is set). */
import fs from 'node:fs';
import net from 'node:net';
import { Admin, Kafka, KafkaConfig, logLevel, SASLOptions } from 'kafkajs';
import { errorCode, InfraError } from './output';
import type { Env } from './settings';

/** TLS and SASL of a connection; `ssl.ca` etc. hold file contents. */
export interface ClientSecurity {
  ssl: false | { rejectUnauthorized?: boolean; ca?: Buffer; cert?: Buffer; key?: Buffer };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

/** The local broker's own listener: plaintext. */
export const PLAINTEXT: ClientSecurity = { ssl: false };

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
type SaslMechanism = (typeof SASL_MECHANISMS)[number];
const isSaslMechanism = (m: string): m is SaslMechanism => (SASL_MECHANISMS as readonly string[]).includes(m);

/**
 * TLS and SASL options for the configured KAFKA_BROKERS (a managed cluster), read from the
 * service's variables. A subset of libs/config's resolution: TLS files, plain and SCRAM. The
 * other mechanisms need a token endpoint or cloud credentials, which topic creation on a managed
 * cluster leaves to the platform's own tooling.
 */
export function clientSecurityFromEnv(env: Env = process.env): ClientSecurity {
  const flag = (name: string, def: boolean): boolean => {
    const v = (env[name] ?? '').trim().toLowerCase();
    if (v === '') return def;
    if (['true', 'on', '1', 'yes'].includes(v)) return true;
    if (['false', 'off', '0', 'no'].includes(v)) return false;
    throw new InfraError(`${name} must be true or false, got "${env[name]}"`);
  };
  const read = (name: string): Buffer | undefined => {
    const file = (env[name] ?? '').trim();
    if (file === '') return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      const code = errorCode(err);
      throw new InfraError(`${name}: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : code})`);
    }
  };
  let ssl: ClientSecurity['ssl'] = false;
  if (flag('KAFKA_SSL', false)) {
    const ca = read('KAFKA_SSL_CA_FILE');
    const cert = read('KAFKA_SSL_CERT_FILE');
    const key = read('KAFKA_SSL_KEY_FILE');
    ssl = { rejectUnauthorized: flag('KAFKA_SSL_REJECT_UNAUTHORIZED', true), ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
  }
  const mechanism = env.KAFKA_SASL_MECHANISM || '';
  if (mechanism === '') return { ssl };
  if (!isSaslMechanism(mechanism)) {
    throw new InfraError(
      `KAFKA_SASL_MECHANISM=${mechanism}: this script authenticates with plain or scram only; create the topics with your platform's tooling (the service checks them at boot)`,
    );
  }
  const password = env.KAFKA_SASL_PASSWORD || read('KAFKA_SASL_PASSWORD_FILE')?.toString('utf8').replace(/\r?\n$/, '') || '';
  if (!env.KAFKA_SASL_USERNAME || !password) {
    throw new InfraError(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)`);
  }
  return { ssl, sasl: { mechanism, username: env.KAFKA_SASL_USERNAME, password } };
}

function kafkaClient(brokers: string[], timeoutMs: number, security: ClientSecurity): Kafka {
  const config: KafkaConfig = {
    clientId: 'enrollment-sync-infra',
    brokers,
    ssl: security.ssl === false ? false : { ...security.ssl },
    connectionTimeout: Math.min(timeoutMs, 3_000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: process.env.INFRA_DEBUG ? logLevel.WARN : logLevel.NOTHING,
  };
  // kafkajs types SASL as a union per mechanism; this one's three share the same fields.
  if (security.sasl) config.sasl = { ...security.sasl } as SASLOptions;
  return new Kafka(config);
}

export interface AdminOptions {
  timeoutMs?: number;
  security?: ClientSecurity;
}

export async function withAdmin<T>(brokers: string[], fn: (admin: Admin) => Promise<T>, { timeoutMs = 5_000, security = PLAINTEXT }: AdminOptions = {}): Promise<T> {
  const admin = kafkaClient(brokers, timeoutMs, security).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export type ClusterDescription = Awaited<ReturnType<Admin['describeCluster']>>;

/** The cluster description if a broker answers a metadata request, else null. */
export async function probeKafka(brokers: string[], timeoutMs = 3_000, security: ClientSecurity = PLAINTEXT): Promise<ClusterDescription | null> {
  try {
    return await withAdmin(brokers, (admin) => admin.describeCluster(), { timeoutMs, security });
  } catch {
    return null;
  }
}

export function portOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
