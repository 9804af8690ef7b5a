import { loadConfig } from '@app/config';
import { createKafka, LogSink } from './kafka-client';

/** Producers are only created here, never connected: kafkajs logs the retry warning at creation. */
describe('createKafka retry policy', () => {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', KAFKA_BROKERS: '127.0.0.1:1' });
  const warnings: string[] = [];
  const sink: LogSink = { error() {}, warn: (_o, msg) => warnings.push(msg), info() {}, debug() {} };

  beforeEach(() => warnings.splice(0));

  it('gives idempotent producers unlimited retries, so kafkajs does not warn about limiting them', () => {
    createKafka(config, sink).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    createKafka(config, sink).producer({ idempotent: true });
    expect(warnings.filter((m) => m.includes('Limiting retries'))).toEqual([]);
  });

  it('still warns when an idempotent producer limits its retries on purpose (its own retry wins)', () => {
    createKafka(config, sink).producer({ idempotent: true, retry: { retries: 3 } });
    expect(warnings).toContain('Limiting retries for the idempotent producer may invalidate EoS guarantees');
  });

  it('leaves plain producers alone', () => {
    createKafka(config, sink).producer();
    createKafka(config, sink).producer({ allowAutoTopicCreation: false });
    expect(warnings.filter((m) => m.includes('Limiting retries'))).toEqual([]);
  });
});
