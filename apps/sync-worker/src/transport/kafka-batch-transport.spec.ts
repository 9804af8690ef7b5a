import { Test } from '@nestjs/testing';
import { Kafka, KafkaMessage } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, loadConfig } from '@app/config';
import { classifyFailure, DeadLetterPublisher } from '@app/messaging';
import { MetricsRegistry, PipelineMetrics } from '@app/observability';
import { InputApplier } from '@app/projection';
import { events } from '@app/workload';
import { InputSliceController } from '../ingestion/input-slice.controller';
import { INPUT_SLICE, InputSlice, InputSliceContext, KafkaBatchTransport } from './kafka-batch-transport';

// Given the sync worker's slice handler registered on the batch transport through Nest's
// microservice layer (nothing connects: the transport's Kafka client is never started),
const config = loadConfig({});
const quiet = { setContext: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

async function boot(apply: InputApplier['apply']) {
  const sent: unknown[][] = [];
  const moduleRef = await Test.createTestingModule({
    controllers: [InputSliceController],
    providers: [
      KafkaBatchTransport,
      { provide: APP_CONFIG, useValue: config },
      { provide: Kafka, useValue: new Kafka({ brokers: ['127.0.0.1:1'] }) },
      { provide: MetricsRegistry, useValue: new MetricsRegistry() },
      PipelineMetrics,
      { provide: PinoLogger, useValue: quiet },
      { provide: InputApplier, useValue: { apply } },
      { provide: DeadLetterPublisher, useValue: { send: async (letters: unknown[]) => void sent.push(letters) } },
    ],
  }).compile();
  const transport = moduleRef.get(KafkaBatchTransport);
  const app = moduleRef.createNestMicroservice({ strategy: transport });
  await app.init(); // registers the @EventPattern handlers on the transport
  return { transport, sent, close: () => app.close() };
}

const message = (offset: number, value: string): KafkaMessage => ({
  key: Buffer.from('k'),
  value: Buffer.from(value),
  headers: {},
  offset: String(offset),
  timestamp: '0',
  attributes: 0,
});

const slice = (messages: KafkaMessage[]): InputSlice => ({ topic: config.topics.memberships, partition: 0, messages });
let seq = 0;
const membership = (offset: number): KafkaMessage => {
  const m = events.membershipChanged({ course_id: 1, user_id: ++seq, join_status: 'joined' }, { time: '2026-10-01T00:00:00.000Z', id: `m-${seq}`, source: '/spec' });
  return message(offset, m.value);
};
const context = () => new InputSliceContext([config.topics.memberships, 0, async () => undefined]);

describe('KafkaBatchTransport and the slice handler', () => {
  it('registers the slice handler under INPUT_SLICE', async () => {
    const w = await boot(async () => ({ outcomes: [], published: 0, recomputesRequested: 0 }));
    expect(w.transport.getHandlerByPattern(INPUT_SLICE)).not.toBeNull();
    await w.close();
  });

  it("a handler's failure reaches the transport as the error it threw, not as Nest's { status: 'error' } value", async () => {
    const outage = Object.assign(new Error('the database is down'), { code: 'ECONNREFUSED' });
    const w = await boot(async () => {
      throw outage;
    });
    // When applying a valid slice fails with an outage,
    const s = slice([membership(0)]);
    // then the transport's call rejects with that very error (so it is classified and retried), and nothing is dead-lettered.
    await expect(w.transport.invoke(s, context())).rejects.toBe(outage);
    expect(classifyFailure(outage)).toBe('transient');
    expect(w.sent).toEqual([]);
    await w.close();
  });

  it('a retry with the same context resumes the slice: applied parts are not applied again, dead letters go out once', async () => {
    const applied: number[] = [];
    let failOnce = true;
    const w = await boot(async (events) => {
      // The two-message slice fails as poison (bisect), the first half applies, the second hits an outage once.
      if (events.length === 2) throw Object.assign(new Error('bad row'), { code: '22P02' });
      if (events[0].fact && applied.length === 1 && failOnce) {
        failOnce = false;
        throw Object.assign(new Error('the database is down'), { code: 'ECONNREFUSED' });
      }
      applied.push(events.length);
      return { outcomes: events.map(() => 'applied' as const), published: 0, recomputesRequested: 0 };
    });
    const s = slice([membership(0), membership(1), message(2, 'not json')]);
    const ctx = context();
    await expect(w.transport.invoke(s, ctx)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(w.transport.invoke(s, ctx)).resolves.toBeUndefined();
    expect(applied).toEqual([1, 1]);
    expect(w.sent).toHaveLength(1); // the undecodable message, once
    await w.close();
  });
});
