import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, loadKafkaSecurity, withoutTlsParams } from '@app/config';

describe('connection security settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'es-security-spec-'));
  const file = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n');
  const missing = join(dir, 'nope.pem');
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('is plaintext without SASL by default', () => {
    const c = loadConfig({});
    expect(c.kafka.ssl).toBe(false);
    expect(c.kafka.sasl).toBeUndefined();
    expect(c.database.ssl).toBe(false);
    expect(c.redis.tls).toBeUndefined();
  });

  it('reads the Kafka CA at boot and verifies by default', () => {
    const c = loadConfig({ KAFKA_SSL: 'on', KAFKA_SSL_CA_FILE: ca });
    expect(c.kafka.ssl).toEqual({ rejectUnauthorized: true, ca: readFileSync(ca) });
    expect(loadConfig({ KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }).kafka.ssl).toEqual({ rejectUnauthorized: false });
  });

  it.each([
    ['KAFKA_SSL_CA_FILE', { KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: missing }],
    ['KAFKA_SASL_PASSWORD_FILE', { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD_FILE: missing }],
    ['DATABASE_SSL_CA_FILE', { DATABASE_SSL_CA_FILE: missing }],
    ['REDIS_TLS_CA_FILE', { REDIS_URL: 'rediss://h:6380/0', REDIS_TLS_CA_FILE: missing }],
  ])('a missing file stops boot naming %s', (name, env) => {
    const problems = problemsOf(env);
    expect(problems).toEqual([expect.stringContaining(name)]);
    expect(problems[0]).toContain('no such file');
  });

  it('takes a mounted password file over nothing, dropping its trailing newline', () => {
    const c = loadConfig({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD_FILE: file('pw', 's3cret-value\n') });
    expect(c.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: 's3cret-value' });
  });

  it.each([
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_PASSWORD: 'hunter2-hunter2' }, 'KAFKA_SASL_USERNAME is required'],
    [{ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'svc' }, 'KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) is required'],
    [{ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'hunter2-hunter2', KAFKA_SASL_PASSWORD_FILE: ca }, 'both set'],
    [{ KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'hunter2-hunter2' }, 'KAFKA_SASL_MECHANISM is empty'],
    [{ KAFKA_SASL_MECHANISM: 'oauthbearer' }, 'exactly one of'],
    [{ KAFKA_SASL_MECHANISM: 'oauthbearer', KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'https://idp/token' }, 'OAuth client id'],
    [{ KAFKA_SASL_MECHANISM: 'aws', KAFKA_SASL_USERNAME: 'AKIA', KAFKA_SASL_PASSWORD: 'hunter2-hunter2' }, 'KAFKA_SASL_AWS_AUTHORIZATION_IDENTITY is required'],
    [{ KAFKA_SSL_CA_FILE: ca }, 'KAFKA_SSL is off'],
    [{ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: ca }, 'go together'],
    [{ KAFKA_SSL: 'maybe' }, 'KAFKA_SSL must be true or false'],
    [{ KAFKA_SASL_MECHANISM: 'gssapi' }, 'KAFKA_SASL_MECHANISM must be one of'],
    [{ KAFKA_SASL_OAUTHBEARER_SCOPE: 'x' }, 'not oauthbearer'],
    [{ KAFKA_SASL_MECHANISM: 'oauthbearer', KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: ca, KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'logicalCluster' }, 'is not key=value'],
  ])('refuses %j: %s', (env, message) => {
    const problems = problemsOf(env);
    expect(problems.join('\n')).toContain(message);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('resolves oauthbearer through a token endpoint or a token file', () => {
    const endpoint = loadConfig({
      KAFKA_SASL_MECHANISM: 'oauthbearer',
      KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'https://login.example/token',
      KAFKA_SASL_OAUTHBEARER_SCOPE: 'kafka',
      KAFKA_SASL_USERNAME: 'client',
      KAFKA_SASL_PASSWORD: 'secret',
    });
    expect(endpoint.kafka.sasl).toEqual({
      mechanism: 'oauthbearer',
      tokenEndpoint: { url: 'https://login.example/token', clientId: 'client', clientSecret: 'secret', scope: 'kafka' },
      extensions: {},
    });
    const token = file('token', 'eyJ\n');
    expect(
      loadConfig({
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: token,
        KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'logicalCluster=lkc-1, identityPoolId=pool-2',
      }).kafka.sasl,
    ).toEqual({
      mechanism: 'oauthbearer',
      tokenFile: token,
      extensions: { logicalCluster: 'lkc-1', identityPoolId: 'pool-2' },
    });
  });

  describe('Postgres sslmode (libpq meanings)', () => {
    const ssl = (url: string, extra: Record<string, string> = {}) => loadConfig({ DATABASE_URL: url, ...extra }).database.ssl;
    const base = 'postgres://u:pw@db.example:5432/es';

    it('disable or absent: plaintext', () => {
      expect(ssl(base)).toBe(false);
      expect(ssl(`${base}?sslmode=disable`)).toBe(false);
    });

    it('require: encrypted without verification, unless a CA is given (then verify-ca)', () => {
      expect(ssl(`${base}?sslmode=require`)).toEqual({ rejectUnauthorized: false });
      const withCa = ssl(`${base}?sslmode=require`, { DATABASE_SSL_CA_FILE: ca }) as Record<string, unknown>;
      expect(withCa.rejectUnauthorized).toBe(true);
      expect(withCa.ca).toBeInstanceOf(Buffer);
      expect(typeof withCa.checkServerIdentity).toBe('function');
    });

    it('verify-full checks the host name; a CA file alone means verify-full; sslrootcert works too', () => {
      for (const got of [
        ssl(`${base}?sslmode=verify-full`, { DATABASE_SSL_CA_FILE: ca }),
        ssl(base, { DATABASE_SSL_CA_FILE: ca }),
        ssl(`${base}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`),
      ]) {
        expect(got).toEqual({ rejectUnauthorized: true, ca: expect.any(Buffer) });
      }
    });

    it.each(['prefer', 'allow', 'bogus'])('refuses sslmode=%s without echoing the URL', (mode) => {
      const problems = problemsOf({ DATABASE_URL: `${base}?sslmode=${mode}` });
      expect(problems).toEqual([expect.stringContaining('sslmode')]);
      expect(problems[0]).not.toContain('pw@');
    });

    it('DATABASE_READ_URL: absent unless set, then its own sslmode with the shared CA file', () => {
      expect(loadConfig({ DATABASE_URL: base }).database.read).toBeUndefined();
      expect(loadConfig({ DATABASE_URL: base, DATABASE_READ_URL: '' }).database.read).toBeUndefined();
      const replica = 'postgres://u:pw@replica.example:5432/es';
      expect(loadConfig({ DATABASE_URL: `${base}?sslmode=require`, DATABASE_READ_URL: replica }).database.read).toEqual({ url: replica, ssl: false });
      const verified = loadConfig({ DATABASE_URL: base, DATABASE_READ_URL: replica, DATABASE_SSL_CA_FILE: ca }).database.read;
      expect(verified).toEqual({ url: replica, ssl: { rejectUnauthorized: true, ca: expect.any(Buffer) } });
      const problems = problemsOf({ DATABASE_READ_URL: `${replica}?sslmode=prefer` });
      expect(problems).toEqual([expect.stringContaining('DATABASE_READ_URL sslmode=prefer')]);
      expect(problems[0]).not.toContain('pw@');
      expect(problemsOf({ DATABASE_READ_URL: 'mysql://replica.example/es' })).toEqual([expect.stringContaining('DATABASE_READ_URL must use postgres:')]);
    });

    it('hands pg a URL without TLS parameters, so they cannot override the resolved ssl', () => {
      expect(withoutTlsParams(`${base}?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x`)).toBe(`${base}?application_name=x`);
      expect(withoutTlsParams(`${base}?sslmode=require`)).toBe(base);
    });
  });

  it('Redis: rediss:// turns TLS on, with the CA file when set', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://h:6380/0' }).redis.tls).toEqual({});
    expect(loadConfig({ REDIS_URL: 'rediss://h:6380/0', REDIS_TLS_CA_FILE: ca }).redis.tls).toEqual({ ca: expect.any(Buffer) });
    expect(problemsOf({ REDIS_TLS_CA_FILE: ca })).toEqual([expect.stringContaining('not rediss://')]);
  });
});

describe('loadKafkaSecurity', () => {
  it("resolves the Kafka connection alone, as the service's configuration does", () => {
    const env = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', API_PORT: 'not a port' };
    expect(loadKafkaSecurity(env)).toEqual({ ssl: false, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
    const { ssl, sasl } = loadConfig({ ...env, API_PORT: '3000' }).kafka;
    expect(loadKafkaSecurity(env)).toEqual({ ssl, sasl });
  });

  it('names the bad Kafka variables', () => {
    expect(() => loadKafkaSecurity({ KAFKA_SASL_MECHANISM: 'plain' })).toThrow(/KAFKA_SASL_USERNAME is required/);
  });
});
