import path from 'node:path';
import { InfraError } from './output';
import { databaseTargets, kafkaBrokers, kafkaSettings, parseCommand, redisUrl, safeUrl } from './settings';

const ROOT = '/repo';

describe('parseCommand', () => {
  it('reads up, up --secure, down, down --purge and status', () => {
    expect(parseCommand(['up'], {})).toEqual({ name: 'up', secure: false });
    expect(parseCommand(['up', '--secure'], {})).toEqual({ name: 'up', secure: true });
    expect(parseCommand(['down'], {})).toEqual({ name: 'down', purge: false });
    expect(parseCommand(['down', '--purge'], {})).toEqual({ name: 'down', purge: true });
    expect(parseCommand(['status'], {})).toEqual({ name: 'status' });
  });

  it.each(['1', 'true', 'ON', 'yes'])('takes KAFKA_SECURE=%s for --secure', (value) => {
    expect(parseCommand(['up'], { KAFKA_SECURE: value })).toEqual({ name: 'up', secure: true });
  });

  it('is not secure for KAFKA_SECURE=0', () => {
    expect(parseCommand(['up'], { KAFKA_SECURE: '0' })).toEqual({ name: 'up', secure: false });
  });

  it('answers null (usage) for no or an unknown command', () => {
    expect(parseCommand([], {})).toBeNull();
    expect(parseCommand(['restart'], {})).toBeNull();
  });
});

describe('kafkaSettings', () => {
  it('defaults to Kafka 4.1.2 on 9092, its controller on 9093, the secure listener on 9094, log4j2', () => {
    const s = kafkaSettings(ROOT, {});
    expect(s).toMatchObject({ version: '4.1.2', major: 4, host: '127.0.0.1', port: 9092, controllerPort: 9093, securePort: 9094, logging: 'log4j2' });
    expect(s.home).toBe(path.join(ROOT, '.infra', 'kafka', '4.1.2'));
    expect(s.libsDir).toBe(path.join(ROOT, '.cache', 'kafka', '4.1.2', 'libs'));
    expect(s.logConfigFile).toBe(path.join(s.home, 'log4j2.properties'));
  });

  it('moves the controller port with KAFKA_PORT, so a second broker per machine needs one variable', () => {
    const s = kafkaSettings(ROOT, { KAFKA_PORT: '39092', KAFKA_SECURE_PORT: '39094' });
    expect([s.port, s.controllerPort, s.securePort]).toEqual([39092, 39093, 39094]);
  });

  it('runs 3.x with reload4j and its log4j.properties', () => {
    const s = kafkaSettings(ROOT, { KAFKA_VERSION: '3.9.1' });
    expect(s.logging).toBe('reload4j');
    expect(path.basename(s.logConfigFile)).toBe('log4j.properties');
  });

  it.each([
    [{ KAFKA_VERSION: '4.1' }, 'KAFKA_VERSION must look like 4.1.2'],
    [{ KAFKA_VERSION: '2.8.2' }, 'only Kafka 3.x (KRaft) and 4.x'],
    [{ KAFKA_PORT: '65535' }, 'KAFKA_PORT must be an integer between 1 and 65534'],
    [{ KAFKA_PORT: 'x' }, 'KAFKA_PORT must be an integer'],
    [{ KAFKA_PORT: '19092', KAFKA_SECURE_PORT: '19093' }, 'collides with KAFKA_PORT 19092 or its controller port 19093'],
    [{ KAFKA_START_TIMEOUT_MS: '10' }, 'KAFKA_START_TIMEOUT_MS must be an integer between 1000'],
  ])('refuses %j', (env, message) => {
    expect(() => kafkaSettings(ROOT, env)).toThrow(InfraError);
    expect(() => kafkaSettings(ROOT, env)).toThrow(message);
  });
});

describe('kafkaBrokers', () => {
  it('is the local port unless KAFKA_BROKERS names others', () => {
    expect(kafkaBrokers({})).toEqual(['127.0.0.1:9092']);
    expect(kafkaBrokers({ KAFKA_PORT: '39092' })).toEqual(['127.0.0.1:39092']);
    expect(kafkaBrokers({ KAFKA_BROKERS: ' a:1, b:2 ,' })).toEqual(['a:1', 'b:2']);
  });
});

describe('databaseTargets', () => {
  it("derives the tests' database from DATABASE_URL's name", () => {
    expect(databaseTargets({ DATABASE_URL: 'postgres://u:p@db:6543/app' }).map((t) => [t.label, t.name, safeUrl(t.url)])).toEqual([
      ['DATABASE_URL', 'app', 'db:6543'],
      ['TEST_DATABASE_URL', 'app_test', 'db:6543'],
    ]);
  });

  it('refuses a database name that could not be written into CREATE DATABASE as is', () => {
    expect(() => databaseTargets({ DATABASE_URL: 'postgres://h/App-1' })).toThrow('must match');
    expect(() => databaseTargets({ DATABASE_URL: 'mysql://h/app' })).toThrow('must be a postgres:// URL');
  });

  it('never shows credentials', () => {
    expect(safeUrl('redis://:secret@127.0.0.1/0')).toBe('127.0.0.1:6379');
  });
});

describe('redisUrl', () => {
  it('defaults to the local Redis and refuses other schemes', () => {
    expect(redisUrl({})).toBe('redis://127.0.0.1:6379/0');
    expect(() => redisUrl({ REDIS_URL: 'http://127.0.0.1' })).toThrow('REDIS_URL must be a redis:// URL');
  });
});
