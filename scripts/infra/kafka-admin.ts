/** Short-lived kafkajs admin clients for the infra commands (silent unless INFRA_DEBUG is set). */
import net from 'node:net';
import { Admin, Kafka, logLevel } from 'kafkajs';
// The files, not the package barrels: those would load NestJS into a command that runs unbuilt.
import { KafkaSecurity, loadKafkaSecurity } from '../../libs/config/src/connection-security';
import { kafkaSaslOptions } from '../../libs/messaging/src/kafka-security';
import type { Env } from './settings';

/** TLS and SASL of a connection, as the service resolves them. */
export type ClientSecurity = KafkaSecurity;

/** The local broker's own listener: plaintext. */
export const PLAINTEXT: ClientSecurity = { ssl: false };

/**
 * TLS and SASL for the configured KAFKA_BROKERS (a managed cluster): the service's own
 * resolution of the KAFKA_SSL* and KAFKA_SASL* variables, every mechanism it supports.
 */
export function clientSecurityFromEnv(env: Env = process.env): ClientSecurity {
  return loadKafkaSecurity(env);
}

function kafkaClient(brokers: string[], timeoutMs: number, security: ClientSecurity): Kafka {
  return new Kafka({
    clientId: 'enrollment-sync-infra',
    brokers,
    ssl: security.ssl === false ? false : { ...security.ssl },
    ...(security.sasl ? { sasl: kafkaSaslOptions(security.sasl) } : {}),
    connectionTimeout: Math.min(timeoutMs, 3_000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: process.env.INFRA_DEBUG ? logLevel.WARN : logLevel.NOTHING,
  });
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
