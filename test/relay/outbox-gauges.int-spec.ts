/**
 * The outbox gauges show an event the relay cannot publish (its output topic is gone):
 * `enrollment_sync_outbox_oldest_age_seconds` reaches its age and `enrollment_sync_outbox_pending`
 * counts it, with nobody calling /health/ready. The relay sets both on every loop.
 * Real Kafka and Postgres, an in-process sync worker.
 */
import { PipelineMetrics } from '@app/observability';
import { eventually } from '../support/eventually';
import { Pipeline, startPipeline } from '../support/pipeline';

describe('outbox gauges', () => {
  let p: Pipeline;

  beforeAll(async () => {
    p = await startPipeline({ recompute: 'none' });
  }, 60_000);
  afterAll(async () => p?.stop(), 60_000);

  it('shows the age and count of a stuck pending event without a readiness probe', async () => {
    // Given the output topic is gone, so the relay cannot publish
    const admin = p.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [p.config.topics.courseEnrollments] });
    await admin.disconnect();
    // When an event written an hour ago waits in the outbox
    await p.ds.query(
      `INSERT INTO outbox (enrollment_id, version, event, created_at)
       VALUES ('1:1', 1, '{"type":"lms.course_enrollment.created"}', now() - interval '1 hour')`,
    );
    await p.ds.query(`SELECT pg_notify('enrollment_sync_outbox', '')`);

    // Then the gauges say so
    const metrics = p.inProcessWorker!.get(PipelineMetrics);
    const value = async (g: { get(): Promise<{ values: { value: number }[] }> }) => (await g.get()).values[0]?.value ?? 0;
    const seen = await eventually(
      async () => {
        const age = await value(metrics.outboxOldestAgeSeconds);
        return age >= 3600 ? { age, pending: await value(metrics.outboxPending) } : undefined;
      },
      'the oldest-age gauge to reach an hour',
      20_000,
    );
    expect(seen.pending).toBe(1);
    await p.ds.query(`DELETE FROM outbox`);
  }, 60_000);
});
