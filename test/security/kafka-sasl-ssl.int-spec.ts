/**
 * The service on a managed-Kafka-like listener: SASL_SSL with SCRAM-SHA-512, the broker's
 * certificate verified against a CA (the local broker's secure listener, see secure-kafka.ts).
 * Every client of the run (topic creation, producer, the in-process sync worker with its relay
 * and dead-letter producer, the output collector) connects only through it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test, TestingModule } from '@nestjs/testing';
import { APP_CONFIG } from '@app/config';
import { events } from '@app/workload';
import { SyncWorkerModule } from '../../apps/sync-worker/src/sync-worker.module';
import { isolatedConfig } from '../support/isolation';
import { Pipeline, startPipeline } from '../support/pipeline';
import { SecureListener, secureEnv, secureListener, unrelatedCa } from '../support/secure-kafka';

/** Boots the sync worker with `overrides` and returns how its boot failed. */
async function bootFailure(overrides: Record<string, string>): Promise<Error> {
  const config = isolatedConfig(overrides);
  let moduleRef: TestingModule | undefined;
  try {
    // Nest builds the Kafka provider (and connects the dead-letter producer) while compiling.
    moduleRef = await Test.createTestingModule({ imports: [SyncWorkerModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(config)
      .compile();
    await moduleRef.init();
  } catch (err) {
    return err as Error;
  } finally {
    await moduleRef?.close().catch(() => undefined);
  }
  throw new Error('the sync worker booted');
}

describe('Kafka over SASL_SSL with SCRAM-SHA-512', () => {
  let listener: SecureListener;

  beforeAll(async () => {
    listener = await secureListener();
  });

  describe('pipeline round trip', () => {
    let p: Pipeline;

    beforeAll(async () => {
      // The default session timeout: this suite is about the connection, not failover speed, and
      // TLS costs CPU on a busy machine.
      p = await startPipeline({ overrides: { ...secureEnv(listener), KAFKA_SESSION_TIMEOUT_MS: '30000' }, recompute: 'inline' });
    }, 120_000);
    afterAll(async () => p?.stop(), 60_000);

    it('applies an input event and publishes its CourseEnrollments event, all through the secure listener', async () => {
      expect(p.config.kafka.brokers).toEqual(listener.brokers);
      expect(p.config.kafka.ssl).toMatchObject({ rejectUnauthorized: true, ca: expect.any(Buffer) });
      expect(p.config.kafka.sasl).toMatchObject({ mechanism: 'scram-sha-512', username: listener.username });

      const C = 7001;
      const U = 71;
      const o = (n: number) => ({ time: `2026-11-01T09:00:0${n}.000Z`, id: `sasl-${n}`, source: '/sasl-ssl' });
      await p.produce([
        events.courseUpserted({ id: C, name: 'Secure Streams', slug: 'secure-streams', privacy: 'open' }, o(1)),
        events.sectionUpserted(C, { id: 1, name: 'Basics', position: 1 }, o(2)),
        events.lessonUpserted(C, { id: 11, section_id: 1, name: 'TLS', status: 'published', position: 1 }, o(3)),
        events.userUpserted({ id: U, username: 'sasl', real_name: 'Sasl Learner', emails: [] }, o(4)),
        events.membershipChanged({ course_id: C, user_id: U, join_status: 'joined' }, o(5)),
        events.lessonCompleted({ course_id: C, lesson_id: 11, user_id: U, time_spent_seconds: 60 }, o(6)),
      ]);
      await p.waitQuiet();

      const published = p.outputs.get(`${C}:${U}`) ?? [];
      expect(published.length).toBeGreaterThan(0);
      expect(published[published.length - 1].event.data.course_enrollment.status).toBe('completed');
      expect(await p.oracle()).toEqual([]);
      expect(p.deadLetters).toEqual([]);
    });
  });

  it('a wrong password stops boot naming KAFKA_SASL_USERNAME, instead of retrying', async () => {
    const err = await bootFailure({ ...secureEnv(listener), KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: 'not-the-password' });
    expect(err.name).toBe('KafkaSecurityError');
    expect(err.message).toContain(`Kafka authentication failed for KAFKA_SASL_USERNAME=${listener.username} (KAFKA_SASL_MECHANISM=scram-sha-512)`);
    expect(err.message).not.toContain('not-the-password');
  });

  it('a CA that did not sign the broker certificate stops boot with a TLS error naming KAFKA_SSL_CA_FILE', async () => {
    const ca = unrelatedCa(mkdtempSync(join(tmpdir(), 'es-wrong-ca-')));
    const err = await bootFailure({ ...secureEnv(listener), KAFKA_SSL_CA_FILE: ca });
    expect(err.name).toBe('KafkaSecurityError');
    expect(err.message).toMatch(
      new RegExp(`^TLS handshake with Kafka broker ${listener.brokers[0]} failed: .*(self-signed|unable to verify|unable to get).*KAFKA_SSL_CA_FILE`, 's'),
    );
  });
});
