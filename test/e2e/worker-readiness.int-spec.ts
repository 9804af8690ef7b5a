/**
 * Being stuck is visible: the workers' /health/ready (on their metrics ports) on the real Kafka,
 * Postgres and Redis. The sync worker answers 503 with its reasons while a partition with lag
 * stands still or the outbox's oldest event waits longer than STALL_AFTER_MS, and 200 again
 * once things move; the jobs worker answers 200 while Redis accepts a write and its workers run
 * (503 while a full Redis refuses writes: test/jobs/redis-oom-recovery.int-spec.ts).
 */
import type { TestingModule } from '@nestjs/testing';
import { MetricsEndpoint } from '@app/observability';
import { clock, events } from '@app/workload';
import { JobsWorkerLifecycle } from '../../apps/jobs-worker/src/jobs-worker.lifecycle';
import { eventually } from '../support/eventually';
import { isolatedConfig } from '../support/isolation';
import { compileJobsWorker } from '../support/jobs-worker';
import { Pipeline, startPipeline } from '../support/pipeline';

const tick = clock('2026-11-21T09:00:00.000Z');
let n = 0;
const o = () => ({ time: tick(1000), id: `ready-${++n}`, source: '/worker-readiness' });

interface ReadyBody {
  status: string;
  reasons: string[];
}

const readiness = async (p: Pipeline) => {
  const r = await p.workerGet('/health/ready');
  return { status: r.status, body: JSON.parse(r.body) as ReadyBody };
};

/** Polls /health/ready until it answers `status` (with a reason matching `reason`, if given); returns the body. */
const until = (p: Pipeline, status: number, what: string, reason?: RegExp) =>
  eventually(
    async () => {
      const r = await readiness(p);
      return r.status === status && (!reason || r.body.reasons.some((x) => reason.test(x))) ? r.body : undefined;
    },
    what,
    30_000,
  );

describe('sync worker /health/ready (real Kafka and Postgres)', () => {
  let p: Pipeline;

  beforeAll(async () => {
    p = await startPipeline({ startWorker: false, recompute: 'inline', overrides: { STALL_AFTER_MS: '2000' } });
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
  }, 60_000);

  it('answers 503 while the outbox holds an event older than STALL_AFTER_MS, and 200 once it is published', async () => {
    // Given the relay kept from publishing: every relay slot leased to a replica that never publishes
    const slots = Array.from({ length: p.config.topics.partitions }, (_, i) => i);
    await p.ds.query(
      `INSERT INTO outbox_relay_slots (slot, owner, lease_expires_at, acquired_at)
       SELECT s, 'blocker-0-test', now() + interval '1 hour', now() FROM unnest($1::int[]) s`,
      [slots],
    );
    await p.startWorker();
    await until(p, 200, 'the worker to be ready once its consumer joined');

    try {
      // When an event waits in the outbox
      await p.produce([events.membershipChanged({ course_id: 8001, user_id: 1, join_status: 'joined' }, o())]);
      // Then it reports the outbox as stuck
      await until(p, 503, 'the worker to report the outbox as stuck', /outbox's oldest pending event is \d+ s old/);
      const metrics = (await p.workerGet('/metrics')).body;
      expect(Number(/^enrollment_sync_outbox_oldest_age_seconds (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    } finally {
      // The stranger's leases end: the worker's relay takes the slots at its next round.
      await p.ds.query(`UPDATE outbox_relay_slots SET owner = NULL, lease_expires_at = NULL, acquired_at = NULL`);
    }
    // And once the relay can publish, it is ready again
    await until(p, 200, 'the worker to be ready once the outbox drained');
    await p.waitQuiet();
  }, 90_000);

  it('answers 503 while a partition with lag stands still (a dependency failing transiently), and 200 once it moves', async () => {
    // Given Postgres refusing progress facts as "cannot connect now" (57P03) while a switch is on
    const schema = p.config.database.schema;
    await p.ds.query(`CREATE TABLE "${schema}".stall_switch (on_since timestamptz)`);
    await p.ds.query(`INSERT INTO "${schema}".stall_switch VALUES (now())`);
    await p.ds.query(`
      CREATE FUNCTION "${schema}".stall() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM "${schema}".stall_switch) THEN
          RAISE EXCEPTION 'stalled on purpose' USING ERRCODE = '57P03';
        END IF;
        RETURN NEW;
      END $$`);
    await p.ds.query(`CREATE TRIGGER stall BEFORE INSERT ON "${schema}".progress_facts FOR EACH ROW EXECUTE FUNCTION "${schema}".stall()`);
    await until(p, 200, 'the worker to be ready before the stall');

    // When a progress message arrives
    const msg = events.lessonCompleted({ course_id: 8002, lesson_id: 1, user_id: 1 }, o());
    await p.produce([msg]);
    // Then it names the partition and its lag; nothing is dead-lettered; the lag and the failures show in the metrics
    const topic = p.topicName('lessonProgress').replace(/\./g, '\\.');
    await until(p, 503, 'the worker to report the stalled partition', new RegExp(`^partition ${topic}/\\d+ has 1 message\\(s\\) of lag`));
    const metrics = (await p.workerGet('/metrics')).body;
    expect(metrics).toMatch(new RegExp(`^enrollment_sync_consumer_lag\\{topic="${topic}",partition="\\d+"\\} 1$`, 'm'));
    expect(Number(/^enrollment_sync_slice_failures_total\{kind="transient"\} (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);

    // And once the dependency is back, the partition moves and the worker is ready again
    await p.ds.query(`DELETE FROM "${schema}".stall_switch`);
    await until(p, 200, 'the worker to be ready once the partition moved');
    await p.waitQuiet();
    expect(p.deadLetters).toEqual([]);
    expect(await p.accounting()).toEqual([]);
  }, 90_000);
});

describe('jobs worker /health/ready (real Redis)', () => {
  let app: TestingModule;

  beforeAll(async () => {
    app = await compileJobsWorker(isolatedConfig({ JOBS_WORKER_METRICS_PORT: '0' }));
    await app.init();
  }, 60_000);
  afterAll(async () => app?.close(), 60_000);

  const get = async () => {
    const res = await fetch(`http://127.0.0.1:${app.get(MetricsEndpoint).boundPort()}/health/ready`);
    return { status: res.status, body: (await res.json()) as ReadyBody & { workers: { queue: string; running: boolean }[] } };
  };

  it('answers 200 while Redis accepts writes and every queue worker runs, 503 naming them once they stop', async () => {
    const ready = await eventually(async () => {
      const r = await get();
      return r.status === 200 ? r.body : undefined;
    }, 'the jobs worker to be ready');
    expect(ready.workers.map((w) => w.queue).sort()).toEqual(['course-recompute', 'deadline-sweep', 'rebuild', 'replay']);

    // When its workers are closed (as on SIGTERM), it is no longer ready
    await app.get(JobsWorkerLifecycle).beforeApplicationShutdown('test');
    const r = await get();
    expect(r.status).toBe(503);
    expect(r.body.reasons).toContain('no queue worker is running');
  }, 60_000);
});
