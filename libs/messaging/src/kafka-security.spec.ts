import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@app/config';
import { clientCredentialsTokenProvider, explainKafkaError, kafkaSaslOptions, tokenFileProvider } from './kafka-security';

describe('OAUTHBEARER token providers', () => {
  it('asks the token endpoint with the client credentials grant and reuses the token until it nears expiry', async () => {
    const requests: { url: string; body: string }[] = [];
    const fakeFetch = (async (url: string, init: RequestInit) => {
      requests.push({ url, body: init.body as string });
      return new Response(JSON.stringify({ access_token: `token-${requests.length}`, expires_in: 3600 }), { status: 200 });
    }) as unknown as typeof fetch;
    const provider = clientCredentialsTokenProvider({ url: 'https://idp.example/token', clientId: 'svc', clientSecret: 's3cret', scope: 'kafka' }, fakeFetch);

    expect(await provider()).toEqual({ value: 'token-1' });
    expect(await provider()).toEqual({ value: 'token-1' });
    expect(requests).toHaveLength(1);
    expect(Object.fromEntries(new URLSearchParams(requests[0].body))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'svc',
      client_secret: 's3cret',
      scope: 'kafka',
    });
  });

  it('reports a refused client by status and client id, never the secret', async () => {
    const fakeFetch = (async () => new Response('{"error":"invalid_client"}', { status: 401 })) as unknown as typeof fetch;
    const provider = clientCredentialsTokenProvider({ url: 'https://idp.example/token', clientId: 'svc', clientSecret: 's3cret', scope: '' }, fakeFetch);
    await expect(provider()).rejects.toThrow(/answered 401 for client KAFKA_SASL_USERNAME=svc/);
    await expect(provider()).rejects.toThrow(/^(?![\s\S]*s3cret)/);
  });

  it('re-reads the token file at each authentication', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'es-token-')), 'token');
    writeFileSync(file, 'first\n');
    const provider = tokenFileProvider(file);
    expect(await provider()).toEqual({ value: 'first' });
    writeFileSync(file, 'second\n');
    expect(await provider()).toEqual({ value: 'second' });
  });

  it('sends the configured SASL extensions with every token', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'es-token-')), 'token');
    writeFileSync(file, 'tok\n');
    const config = loadConfig({
      KAFKA_SASL_MECHANISM: 'oauthbearer',
      KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: file,
      KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'logicalCluster=lkc-1',
    });
    const options = kafkaSaslOptions(config.kafka.sasl!) as { oauthBearerProvider: () => Promise<unknown> };
    expect(await options.oauthBearerProvider()).toEqual({ value: 'tok', extensions: { logicalCluster: 'lkc-1' } });
  });

  it('maps the aws mechanism to kafkajs options as they are', () => {
    const config = loadConfig({ KAFKA_SASL_MECHANISM: 'aws', KAFKA_SASL_AWS_AUTHORIZATION_IDENTITY: 'AROA', KAFKA_SASL_USERNAME: 'AKIA', KAFKA_SASL_PASSWORD: 'secret' });
    expect(kafkaSaslOptions(config.kafka.sasl!)).toEqual({
      mechanism: 'aws',
      authorizationIdentity: 'AROA',
      accessKeyId: 'AKIA',
      secretAccessKey: 'secret',
      sessionToken: '',
    });
  });
});

describe('explainKafkaError', () => {
  const config = loadConfig({
    KAFKA_BROKERS: 'b1:9094',
    KAFKA_SSL: 'true',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'svc',
    KAFKA_SASL_PASSWORD: 'pw-never-shown',
  });

  it('names the user when authentication fails, also under a retry wrapper', () => {
    const sasl = Object.assign(
      new Error('SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512'),
      { name: 'KafkaJSSASLAuthenticationError' },
    );
    const wrapped = Object.assign(new Error('retries exceeded'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: sasl });
    const explained = explainKafkaError(wrapped, config) as Error;
    expect(explained.name).toBe('KafkaSecurityError');
    expect(explained.message).toContain('Kafka authentication failed for KAFKA_SASL_USERNAME=svc (KAFKA_SASL_MECHANISM=scram-sha-512) on b1:9094');
    expect(explained.message).not.toContain('pw-never-shown');
  });

  it('turns certificate failures into a TLS error naming KAFKA_SSL_CA_FILE', () => {
    const tls = Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), {
      name: 'KafkaJSConnectionError',
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
      broker: 'b1:9094',
    });
    expect((explainKafkaError(tls, config) as Error).message).toMatch(
      /^TLS handshake with Kafka broker b1:9094 failed: self-signed certificate in certificate chain \(SELF_SIGNED_CERT_IN_CHAIN\).*KAFKA_SSL_CA_FILE/,
    );
  });

  it('leaves other errors alone (they are transient and retried)', () => {
    const refused = Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError', code: 'ECONNREFUSED' });
    expect(explainKafkaError(refused, config)).toBe(refused);
  });
});
