import { loadConfig } from './app-config';
import { ConfigError } from './env-schema';
import { loadTopicsConfig } from './topics-config';

describe('loadTopicsConfig', () => {
  it("is the service's own topic configuration", () => {
    const env = { TOPIC_COURSES: 'c.v1', TOPIC_PARTITIONS: '3', DLQ_PARTITIONS: '2' };
    expect(loadTopicsConfig(env)).toEqual(loadConfig(env).topics);
    expect(loadTopicsConfig(env)).toMatchObject({ courses: 'c.v1', memberships: 'lms.memberships.v1', partitions: 3, dlqPartitions: 2 });
  });

  it('ignores the variables that are not about topics, even invalid ones', () => {
    expect(() => loadConfig({ API_PORT: 'x' })).toThrow(ConfigError);
    expect(loadTopicsConfig({ API_PORT: 'x' }).partitions).toBe(6);
  });

  it('names every bad topic variable', () => {
    expect(() => loadTopicsConfig({ TOPIC_USERS: 'no spaces', TOPIC_PARTITIONS: '0' })).toThrow(/TOPIC_USERS[\s\S]*TOPIC_PARTITIONS/);
  });
});
