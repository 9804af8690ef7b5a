import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { AppConfig, KafkaSasl } from '@app/config';

/** A Kafka connection refused for a reason retrying cannot fix: credentials or certificates. */
export class KafkaSecurityError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'KafkaSecurityError';
  }
}

/**
 * OAuth 2.0 client credentials grant against KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL. kafkajs
 * asks for a token at every authentication (each new broker connection); one is reused until a
 * minute before it expires.
 */
export function clientCredentialsTokenProvider(
  endpoint: { url: string; clientId: string; clientSecret: string; scope: string },
  fetchImpl: typeof fetch = fetch,
): () => Promise<{ value: string }> {
  let cached: { value: string; renewAt: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.renewAt) return { value: cached.value };
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: endpoint.clientId, client_secret: endpoint.clientSecret });
    if (endpoint.scope !== '') body.set('scope', endpoint.scope);
    const res = await fetchImpl(endpoint.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    // The answer may echo the request; only the status goes into the message.
    if (!res.ok)
      throw new KafkaSecurityError(
        `OAuth token endpoint KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL answered ${res.status} for client KAFKA_SASL_USERNAME=${endpoint.clientId}`,
      );
    const json = (await res.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof json.access_token !== 'string' || json.access_token === '') {
      throw new KafkaSecurityError('OAuth token endpoint KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL answered without an access_token');
    }
    const lifetimeS = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 300;
    cached = { value: json.access_token, renewAt: Date.now() + Math.max(lifetimeS - 60, lifetimeS / 2) * 1000 };
    return { value: cached.value };
  };
}

/** Reads KAFKA_SASL_OAUTHBEARER_TOKEN_FILE at each authentication: whoever writes it keeps it fresh. */
export function tokenFileProvider(path: string): () => Promise<{ value: string }> {
  return async () => {
    const value = (await readFile(path, 'utf8')).trim();
    if (value === '') throw new KafkaSecurityError(`KAFKA_SASL_OAUTHBEARER_TOKEN_FILE ${path} is empty`);
    return { value };
  };
}

/** kafkajs `sasl` options for the resolved mechanism. */
export function kafkaSaslOptions(sasl: KafkaSasl): SASLOptions {
  switch (sasl.mechanism) {
    case 'oauthbearer': {
      const token = sasl.tokenEndpoint ? clientCredentialsTokenProvider(sasl.tokenEndpoint) : tokenFileProvider(sasl.tokenFile!);
      const extensions = Object.keys(sasl.extensions).length > 0 ? { extensions: { ...sasl.extensions } } : {};
      // kafkajs sends `extensions` of the provider's answer (its types only declare `value`).
      return { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ ...(await token()), ...extensions }) };
    }
    case 'aws':
      return { ...sasl };
    default:
      return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
  }
}

const causes = (err: unknown): unknown[] => {
  const chain: unknown[] = [];
  for (let e = err; e && chain.length < 5; e = (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError)
    chain.push(e);
  return chain;
};

/** Node's TLS verification failures (the broker's certificate does not check out). */
const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH|EPROTO$)/;

/**
 * Turns a failed connection into an operator's message when credentials or certificates are the
 * cause (naming the variable to fix, never a secret); other errors are returned as they are.
 */
export function explainKafkaError(err: unknown, config: AppConfig): unknown {
  for (const e of causes(err)) {
    const name = (e as Error).name;
    const message = (e as Error).message ?? '';
    if (name === 'KafkaSecurityError') return e;
    if (name === 'KafkaJSSASLAuthenticationError' || /SASL .*mechanism is not supported/.test(message)) {
      const sasl = config.kafka.sasl;
      const who =
        sasl && 'username' in sasl
          ? `KAFKA_SASL_USERNAME=${sasl.username}`
          : sasl?.mechanism === 'aws'
            ? `KAFKA_SASL_USERNAME=${sasl.accessKeyId}`
            : sasl?.tokenEndpoint
              ? `KAFKA_SASL_USERNAME=${sasl.tokenEndpoint.clientId}`
              : 'the configured token';
      return new KafkaSecurityError(
        `Kafka authentication failed for ${who} (KAFKA_SASL_MECHANISM=${sasl?.mechanism ?? '(none)'}) on ${config.kafka.brokers.join(',')}: ${message}. ` +
          'Check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or its _FILE).',
        err,
      );
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_CODES.test(code)) return tlsError((e as { broker?: string }).broker ?? config.kafka.brokers[0], code, message, err);
  }
  return err;
}

function tlsError(broker: string, code: string, message: string, cause: unknown): KafkaSecurityError {
  return new KafkaSecurityError(
    `TLS handshake with Kafka broker ${broker} failed: ${message.replace(/^Connection error: /, '')} (${code}). ` +
      'Its certificate must chain to the CA in KAFKA_SSL_CA_FILE (the system CAs when unset) and name the host in KAFKA_BROKERS.',
    cause,
  );
}

/**
 * One TLS handshake with the first bootstrap broker that answers, before kafkajs connects: kafkajs
 * treats a certificate failure as a connection error and retries it for minutes, while it can only
 * be fixed by configuration. Unreachable brokers are left to kafkajs's retries.
 */
export async function checkKafkaTls(config: AppConfig, timeoutMs = 10_000): Promise<void> {
  const ssl = config.kafka.ssl;
  if (ssl === false) return;
  for (const broker of config.kafka.brokers) {
    const i = broker.lastIndexOf(':');
    const host = broker.slice(0, i);
    const port = Number(broker.slice(i + 1));
    type Outcome = { ok: true } | { ok: false; refused?: NodeJS.ErrnoException };
    const outcome = await new Promise<Outcome>((resolve) => {
      const socket = tlsConnect({ ...ssl, host, port, ...(isIP(host) ? {} : { servername: host }) });
      const timer = setTimeout(() => done({ ok: false }), timeoutMs);
      function done(result: Outcome) {
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      }
      socket.once('secureConnect', () => done({ ok: true }));
      socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, refused: err.code && TLS_CODES.test(err.code) ? err : undefined }));
    });
    if (outcome.ok) return;
    if (outcome.refused) throw tlsError(broker, outcome.refused.code!, outcome.refused.message, outcome.refused);
  }
}
