/**
 * TLS and SASL settings of the service's connections (Kafka, Postgres, Redis), resolved once at
 * boot from the validated environment: every file named by a variable is read here, so a
 * missing or unreadable file stops boot with a message naming the variable, and no adapter reads
 * files later. Secrets (passwords, keys) are kept out of every message.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { ConfigError, parseEnvVars, RawConfig } from './env-schema';

/** How the service authenticates to Kafka; `undefined` = no SASL. */
export type KafkaSasl =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | {
      mechanism: 'oauthbearer';
      /** OAuth 2.0 client credentials grant (client id = username, secret = password) ... */
      tokenEndpoint?: { url: string; clientId: string; clientSecret: string; scope: string };
      /** ... or a file holding the current token, re-read at each authentication (a sidecar refreshes it). */
      tokenFile?: string;
      /** SASL extensions sent with the token (RFC 7628), e.g. Confluent Cloud's logicalCluster. */
      extensions: Record<string, string>;
    }
  | { mechanism: 'aws'; authorizationIdentity: string; accessKeyId: string; secretAccessKey: string; sessionToken: string };

export interface KafkaSecurity {
  /** kafkajs `ssl`: false = plaintext. */
  ssl: false | TlsOptions;
  sasl?: KafkaSasl;
}

export interface SecurityResolution {
  kafka: KafkaSecurity;
  /** pg `ssl`: false = plaintext. Pass it with `withoutTlsParams(url)`. */
  databaseSsl: false | TlsOptions;
  /** The same for DATABASE_READ_URL; undefined when it is unset. */
  databaseReadSsl?: false | TlsOptions;
  /** ioredis `tls`, present for rediss:// URLs. */
  redisTls?: TlsOptions;
}

type Problems = string[];

/** Reads a file named by `name` at boot; a problem names the variable, never the content. */
function readNamed(problems: Problems, name: string, path: string): Buffer | undefined {
  if (path === '') return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.push(`${name}: cannot read ${path} (${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')})`);
    return undefined;
  }
}

/**
 * A secret given either inline (`NAME`) or as a mounted file (`NAME_FILE`, trailing newline
 * dropped). Both set is ambiguous and refused.
 */
function secret(problems: Problems, name: string, inline: string, file: string): string {
  if (inline !== '' && file !== '') {
    problems.push(`${name} and ${name}_FILE are both set: keep one`);
    return '';
  }
  if (file === '') return inline;
  return (
    readNamed(problems, `${name}_FILE`, file)
      ?.toString('utf8')
      .replace(/\r?\n$/, '') ?? ''
  );
}

/** The variables of the Kafka connection's TLS and SASL. */
export const KAFKA_SECURITY_VARIABLES = [
  'KAFKA_SSL',
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SSL_CERT_FILE',
  'KAFKA_SSL_KEY_FILE',
  'KAFKA_SSL_REJECT_UNAUTHORIZED',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'KAFKA_SASL_PASSWORD_FILE',
  'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL',
  'KAFKA_SASL_OAUTHBEARER_SCOPE',
  'KAFKA_SASL_OAUTHBEARER_EXTENSIONS',
  'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
  'KAFKA_SASL_AWS_AUTHORIZATION_IDENTITY',
  'KAFKA_SASL_AWS_SESSION_TOKEN',
  'KAFKA_SASL_AWS_SESSION_TOKEN_FILE',
] as const;

function kafkaSecurity(c: Pick<RawConfig, (typeof KAFKA_SECURITY_VARIABLES)[number]>, problems: Problems): KafkaSecurity {
  const fileSettings = ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const;
  let ssl: false | TlsOptions = false;
  if (c.KAFKA_SSL) {
    const ca = readNamed(problems, 'KAFKA_SSL_CA_FILE', c.KAFKA_SSL_CA_FILE);
    const cert = readNamed(problems, 'KAFKA_SSL_CERT_FILE', c.KAFKA_SSL_CERT_FILE);
    const key = readNamed(problems, 'KAFKA_SSL_KEY_FILE', c.KAFKA_SSL_KEY_FILE);
    if ((c.KAFKA_SSL_CERT_FILE === '') !== (c.KAFKA_SSL_KEY_FILE === '')) {
      problems.push('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (mutual TLS): set both or neither');
    }
    ssl = {
      rejectUnauthorized: c.KAFKA_SSL_REJECT_UNAUTHORIZED,
      ...(ca ? { ca } : {}),
      ...(cert && key ? { cert, key } : {}),
    };
  } else {
    for (const name of fileSettings) if (c[name] !== '') problems.push(`${name} is set but KAFKA_SSL is off`);
  }

  const mechanism = c.KAFKA_SASL_MECHANISM;
  const username = c.KAFKA_SASL_USERNAME;
  const password = secret(problems, 'KAFKA_SASL_PASSWORD', c.KAFKA_SASL_PASSWORD, c.KAFKA_SASL_PASSWORD_FILE);
  // an unreadable password file is reported once, by `secret`
  const hasPassword = password !== '' || c.KAFKA_SASL_PASSWORD_FILE !== '';
  const need = (cond: boolean, msg: string) => cond || (problems.push(msg), false);
  let sasl: KafkaSasl | undefined;
  switch (mechanism) {
    case '':
      if (username !== '' || password !== '') problems.push('KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD are set but KAFKA_SASL_MECHANISM is empty');
      break;
    case 'plain':
    case 'scram-sha-256':
    case 'scram-sha-512':
      need(username !== '', `KAFKA_SASL_USERNAME is required with KAFKA_SASL_MECHANISM=${mechanism}`);
      need(hasPassword, `KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) is required with KAFKA_SASL_MECHANISM=${mechanism}`);
      sasl = { mechanism, username, password };
      break;
    case 'oauthbearer': {
      const url = c.KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL;
      const tokenFile = c.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE;
      if (
        !need(
          (url === '') !== (tokenFile === ''),
          'KAFKA_SASL_MECHANISM=oauthbearer needs exactly one of KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL and KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
        )
      )
        break;
      if (tokenFile !== '') {
        readNamed(problems, 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE', tokenFile); // present at boot; re-read at each authentication
        sasl = { mechanism, tokenFile, extensions: c.KAFKA_SASL_OAUTHBEARER_EXTENSIONS };
      } else {
        need(username !== '', 'KAFKA_SASL_USERNAME (the OAuth client id) is required with KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL');
        need(hasPassword, 'KAFKA_SASL_PASSWORD (the OAuth client secret, or KAFKA_SASL_PASSWORD_FILE) is required with KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL');
        sasl = {
          mechanism,
          tokenEndpoint: { url, clientId: username, clientSecret: password, scope: c.KAFKA_SASL_OAUTHBEARER_SCOPE },
          extensions: c.KAFKA_SASL_OAUTHBEARER_EXTENSIONS,
        };
      }
      break;
    }
    case 'aws':
      need(c.KAFKA_SASL_AWS_AUTHORIZATION_IDENTITY !== '', 'KAFKA_SASL_AWS_AUTHORIZATION_IDENTITY is required with KAFKA_SASL_MECHANISM=aws');
      need(username !== '', 'KAFKA_SASL_USERNAME (the AWS access key id) is required with KAFKA_SASL_MECHANISM=aws');
      need(hasPassword, 'KAFKA_SASL_PASSWORD (the AWS secret access key, or KAFKA_SASL_PASSWORD_FILE) is required with KAFKA_SASL_MECHANISM=aws');
      sasl = {
        mechanism,
        authorizationIdentity: c.KAFKA_SASL_AWS_AUTHORIZATION_IDENTITY,
        accessKeyId: username,
        secretAccessKey: password,
        sessionToken: secret(problems, 'KAFKA_SASL_AWS_SESSION_TOKEN', c.KAFKA_SASL_AWS_SESSION_TOKEN, c.KAFKA_SASL_AWS_SESSION_TOKEN_FILE),
      };
      break;
  }
  if (mechanism !== 'oauthbearer') {
    for (const name of ['KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL', 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE', 'KAFKA_SASL_OAUTHBEARER_SCOPE'] as const) {
      if (c[name] !== '') problems.push(`${name} is set but KAFKA_SASL_MECHANISM is not oauthbearer`);
    }
    if (Object.keys(c.KAFKA_SASL_OAUTHBEARER_EXTENSIONS).length > 0)
      problems.push('KAFKA_SASL_OAUTHBEARER_EXTENSIONS is set but KAFKA_SASL_MECHANISM is not oauthbearer');
  }
  return { ssl, sasl };
}

/** libpq's sslmode values; `prefer`/`allow` fall back to plaintext, which pg cannot do. */
const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
/** Connection-string parameters that pg would turn into its own `ssl` over ours. */
const PG_TLS_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'uselibpqcompat'];

/**
 * `sslmode` (and `sslrootcert`) of a Postgres URL (DATABASE_URL, DATABASE_READ_URL) with libpq's meaning, plus DATABASE_SSL_CA_FILE:
 * require = encrypted, unverified (verify-ca when a CA is given, as libpq does); verify-ca =
 * chain checked, host name not; verify-full = both. A CA file without sslmode means verify-full.
 */
function postgresSsl(c: RawConfig, name: 'DATABASE_URL' | 'DATABASE_READ_URL', problems: Problems): false | TlsOptions {
  const url = new URL(c[name]);
  const params = url.searchParams;
  const rawMode = params.get('sslmode');
  for (const p of ['sslcert', 'sslkey', 'ssl', 'uselibpqcompat']) {
    if (params.has(p)) problems.push(`${name}: the ${p} parameter is not supported (use sslmode and DATABASE_SSL_CA_FILE)`);
  }
  const caFromUrl = params.get('sslrootcert') ?? '';
  if (caFromUrl !== '' && c.DATABASE_SSL_CA_FILE !== '') problems.push(`${name} sslrootcert and DATABASE_SSL_CA_FILE are both set: keep one`);
  const caName = c.DATABASE_SSL_CA_FILE !== '' ? 'DATABASE_SSL_CA_FILE' : `${name} sslrootcert`;
  const ca = readNamed(problems, caName, c.DATABASE_SSL_CA_FILE || caFromUrl);
  let mode = rawMode ?? (ca ? 'verify-full' : 'disable');
  if (mode === 'prefer' || mode === 'allow') {
    problems.push(`${name} sslmode=${mode} would fall back to plaintext, which this service does not do: use disable or require/verify-ca/verify-full`);
    mode = 'disable';
  } else if (!(SSL_MODES as readonly string[]).includes(mode)) {
    problems.push(`${name} sslmode must be one of ${SSL_MODES.join(', ')}, got "${mode}"`);
    mode = 'disable';
  }
  if (mode === 'require' && ca) mode = 'verify-ca';
  if (mode === 'disable' && ca) problems.push(`${caName} is set but ${name} has sslmode=disable`);
  return mode === 'disable'
    ? false
    : mode === 'require'
      ? { rejectUnauthorized: false }
      : {
          rejectUnauthorized: true,
          ...(ca ? { ca } : {}),
          // verify-ca: the chain must lead to the CA, whatever name the server certificate carries
          ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
        };
}

/**
 * A Postgres URL without its TLS parameters: pg parses them out of a connection string and lets
 * them override the `ssl` option, which `databaseSsl` already resolved from them.
 */
export function withoutTlsParams(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  for (const p of PG_TLS_PARAMS) url.searchParams.delete(p);
  return url.toString();
}

function redisTls(c: RawConfig, problems: Problems): TlsOptions | undefined {
  const tls = new URL(c.REDIS_URL).protocol === 'rediss:';
  const ca = readNamed(problems, 'REDIS_TLS_CA_FILE', c.REDIS_TLS_CA_FILE);
  if (!tls) {
    if (c.REDIS_TLS_CA_FILE !== '') problems.push('REDIS_TLS_CA_FILE is set but REDIS_URL is not rediss://');
    return undefined;
  }
  return ca ? { ca } : {};
}

/**
 * The Kafka connection's security alone, from the KAFKA_SSL* and KAFKA_SASL* variables only:
 * `npm run infra:*` reaches a managed cluster exactly as the service does, without the rest of
 * the configuration having to be valid. Throws ConfigError.
 */
export function loadKafkaSecurity(env: Record<string, string | undefined> = process.env): KafkaSecurity {
  const problems: Problems = [];
  const kafka = kafkaSecurity(parseEnvVars(env, KAFKA_SECURITY_VARIABLES), problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return kafka;
}

/** Resolves every connection's security settings, reading the files they name; throws ConfigError. */
export function resolveSecurity(c: RawConfig): SecurityResolution {
  const problems: Problems = [];
  const resolved: SecurityResolution = {
    kafka: kafkaSecurity(c, problems),
    databaseSsl: postgresSsl(c, 'DATABASE_URL', problems),
    ...(c.DATABASE_READ_URL !== '' ? { databaseReadSsl: postgresSsl(c, 'DATABASE_READ_URL', problems) } : {}),
    redisTls: redisTls(c, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return resolved;
}
