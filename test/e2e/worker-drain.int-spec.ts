/**
 * The drain order of the built sync worker (a Nest microservice on KafkaBatchTransport) when
 * SIGTERM arrives while a slice is in flight: stop fetching, finish and commit the slice and its
 * offsets, flush the relay, close the pools, exit 0. Nest alone would run the relay's flush and
 * then close the pools before it closes the transport; the worker's lifecycle closes the
 * transport first.
 */
import type { ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import { clock, events } from '@app/workload';
import { eventually } from '../support/eventually';
import { Pipeline, startPipeline } from '../support/pipeline';

const tick = clock('2026-11-30T09:00:00.000Z');
let n = 0;
const o = () => ({ time: tick(1000), id: `drain-${++n}`, source: '/worker-drain' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sync worker drain on SIGTERM (the built worker as a child process)', () => {
  let p: Pipeline;
  let blocker: Client | undefined;

  beforeAll(async () => {
    // Info logs, so that the test sees the worker start draining.
    p = await startPipeline({ startWorker: false, recompute: 'none', overrides: { LOG_LEVEL: 'info' } });
  }, 60_000);
  afterAll(async () => {
    await blocker?.end().catch(() => undefined);
    await p?.killWorker('SIGKILL');
    await p?.stop();
  }, 60_000);

  it('SIGTERM mid-slice: the slice and its offsets commit, the relay publishes its events, pools close, exit code 0', async () => {
    const schema = p.config.database.schema;
    const learners = 20;
    // Given a slice held inside its transaction: another session locks the inbox against inserts
    blocker = new Client({ connectionString: p.config.database.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(`LOCK TABLE "${schema}".processed_events IN EXCLUSIVE MODE`);
    // memberships under one key (the service does not read keys), so they are one partition's
    // batch and one slice; produced before the worker starts, so its first fetch holds them all
    await p.produce(
      Array.from({ length: learners }, (_, i) => ({ ...events.membershipChanged({ course_id: 9100, user_id: i + 1, join_status: 'joined' }, o()), key: 'course-9100' })),
    );
    const child: ChildProcess = p.spawnWorker();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await eventually(
      async () => {
        const [{ waiting }] = await p.ds.query(`SELECT count(*)::int AS waiting FROM pg_locks WHERE NOT granted AND relation = to_regclass($1)`, [
          `"${schema}".processed_events`,
        ]);
        return waiting > 0 ? true : undefined;
      },
      'the worker to wait on the inbox lock mid-slice',
      60_000,
    );

    // When SIGTERM arrives while the slice waits,
    child.kill('SIGTERM');
    await eventually(async () => (p.workerLog.some((l) => l.includes('draining: stopping the consumer')) ? true : undefined), 'the worker to start draining');
    // and the slice is let go only after the rest of the drain has had time to run out of order
    await sleep(1500);
    expect(child.exitCode).toBeNull();
    await blocker.query('ROLLBACK');
    await blocker.end();
    blocker = undefined;

    // Then the worker exits 0,
    const exit = await exited;
    expect({ exit, log: exit.code === 0 ? [] : p.workerLog.slice(-20) }).toEqual({ exit: { code: 0, signal: null }, log: [] });
    // the slice committed in Postgres and its offsets in Kafka,
    const [{ stored }] = await p.ds.query(`SELECT count(*)::int AS stored FROM processed_events`);
    expect(stored).toBe(learners);
    expect((await p.inputLag()).total).toBe(0);
    // and the relay published every event the slice wrote before the process ended.
    const [{ pending }] = await p.ds.query(`SELECT count(*)::int AS pending FROM outbox`);
    expect(pending).toBe(0);
    await eventually(async () => ([...p.outputs.values()].flat().length >= learners ? true : undefined), 'the published events to be collected');
    expect(p.outputs.size).toBe(learners); // one enrollment per learner, each published
    // In the order the lifecycle promises.
    const order = ['draining: stopping the consumer', 'draining: flushing the outbox'].map((m) => p.workerLog.findIndex((l) => l.includes(m)));
    expect(order[0]).toBeGreaterThanOrEqual(0);
    expect(order[1]).toBeGreaterThan(order[0]);
  }, 120_000);
});
