import { ConfigError, ENV_SCHEMA, loadConfig } from '@app/config';

describe('loadConfig', () => {
  it('applies every documented default on an empty environment', () => {
    const c = loadConfig({});
    expect(c.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(c.topics.courses).toBe('lms.courses.v1');
    expect(c.topics.partitions).toBe(6);
    expect(c.topics.dlqPartitions).toBe(1);
    expect(c.api.tokens).toEqual([]);
    expect(c.courseUrlTemplate).toBe('');
  });

  it('parses lists and numbers', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'a:1, b:2', API_TOKENS: 'aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb', API_PORT: '8080' });
    expect(c.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(c.api.tokens).toHaveLength(2);
    expect(c.api.port).toBe(8080);
  });

  it.each([
    ['API_PORT', 'eighty'],
    ['API_PORT', '70000'],
    ['KAFKA_BROKERS', 'localhost'],
    ['TOPIC_DLQ', 'bad topic'],
    ['LOG_LEVEL', 'loud'],
    ['REDIS_URL', 'http://x'],
    ['DATABASE_SCHEMA', 'Robert"); drop'],
    ['COURSE_URL_TEMPLATE', 'https://x/courses'],
    ['API_TOKENS', 'short'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });

  it('reports every bad variable at once', () => {
    try {
      loadConfig({ API_PORT: 'x', OUTBOX_POLL_MS: 'y' });
      throw new Error('expected ConfigError');
    } catch (err) {
      expect((err as ConfigError).problems).toHaveLength(2);
    }
  });

  it('never echoes a secret URL back', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:hunter2@h/db' })).toThrow(/^(?![\s\S]*hunter2)/);
  });

  it('documents every setting', () => {
    for (const setting of Object.values(ENV_SCHEMA)) expect(setting.doc.length).toBeGreaterThan(3);
  });
});
