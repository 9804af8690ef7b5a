import { jvmArgs, logConfig, plaintextPortIn, securePortIn, serverProperties } from './kafka-config';
import { kafkaSettings } from './settings';

const props = (text: string): Map<string, string> =>
  new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('serverProperties', () => {
  const s = kafkaSettings('/repo', { KAFKA_PORT: '39092', KAFKA_SECURE_PORT: '39094' });

  it('a plain broker: PLAINTEXT and CONTROLLER listeners on loopback, no auto-created topics', () => {
    const p = props(serverProperties(s));
    expect(p.get('listeners')).toBe('PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093');
    expect(p.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:39092');
    expect(p.get('controller.quorum.voters')).toBe('1@127.0.0.1:39093');
    expect(p.get('listener.security.protocol.map')).toBe('PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT');
    expect(p.get('auto.create.topics.enable')).toBe('false');
    expect(p.get('log.dirs')).toBe(s.dataDir);
    expect([...p.keys()].some((k) => k.startsWith('listener.name.sasl_ssl'))).toBe(false);
    expect(p.get('share.coordinator.state.topic.replication.factor')).toBe('1');
  });

  it('a --secure broker adds the SASL_SSL listener with SCRAM-SHA-512 and the PKCS12 keystore', () => {
    const p = props(serverProperties(s, { keystore: '/tls/broker.p12', keystorePassword: 'pw' }));
    expect(p.get('listeners')).toBe('PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093,SASL_SSL://127.0.0.1:39094');
    expect(p.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:39092,SASL_SSL://127.0.0.1:39094');
    expect(p.get('listener.security.protocol.map')).toBe('PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL');
    expect(p.get('listener.name.sasl_ssl.sasl.enabled.mechanisms')).toBe('SCRAM-SHA-512');
    expect(p.get('listener.name.sasl_ssl.ssl.keystore.location')).toBe('/tls/broker.p12');
    expect(p.get('inter.broker.listener.name')).toBe('PLAINTEXT');
  });

  it('has no 4.x-only settings for a 3.x broker', () => {
    expect(serverProperties(kafkaSettings('/repo', { KAFKA_VERSION: '3.9.1' }))).not.toContain('share.coordinator');
  });

  it('reads its own ports back, which is how a running broker is matched to KAFKA_PORT', () => {
    const secure = serverProperties(s, { keystore: '/k', keystorePassword: 'pw' });
    expect([plaintextPortIn(secure), securePortIn(secure)]).toEqual([39092, 39094]);
    expect(securePortIn(serverProperties(s))).toBeNull();
    expect(plaintextPortIn('')).toBeNull();
  });
});

describe('logConfig and jvmArgs', () => {
  it('log4j2 for 4.x, log4j 1.x properties for 3.x, both into the broker log', () => {
    const v4 = kafkaSettings('/repo', {});
    const v3 = kafkaSettings('/repo', { KAFKA_VERSION: '3.9.1' });
    expect(logConfig(v4)).toContain(`appender.file.fileName = ${v4.logFile}`);
    expect(logConfig(v3)).toContain(`log4j.appender.file.File=${v3.logFile}`);
    expect(jvmArgs(v4, '-Xmx1g')).toContain(`-Dlog4j2.configurationFile=${v4.logConfigFile}`);
    expect(jvmArgs(v3, '-Xmx1g')).toContain(`-Dlog4j.configuration=file://${v3.logConfigFile}`);
  });

  it('splits the heap options and puts the resolved jars on the class path', () => {
    const s = kafkaSettings('/repo', {});
    const args = jvmArgs(s, ' -Xms64m  -Xmx256m ');
    expect(args.slice(0, 2)).toEqual(['-Xms64m', '-Xmx256m']);
    expect(args.slice(-2)).toEqual(['-cp', `${s.libsDir}/*`]);
  });
});
