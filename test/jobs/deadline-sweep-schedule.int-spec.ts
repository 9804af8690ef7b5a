import { INestApplicationContext } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import Redis from 'ioredis';
import { BullMqJobQueue, DEADLINE_SWEEP_EVERY_MS, DEADLINE_SWEEP_SCHEDULER_ID, JOB_QUEUE, QUEUES, queueOptions, redisTlsOptions } from '@app/jobs';
import { createDataSource } from '@app/persistence';
import { SWEEP_SCHEDULE_REFRESH_MS } from '../../apps/jobs-worker/src/operations/deadline-sweep.schedule';
import { eventually } from '../support/eventually';
import { compileJobsWorker } from '../support/jobs-worker';
import { isolatedConfig } from '../support/isolation';

/**
 * Redis keeps nothing on disk. When it loses its data the deadline sweep's job scheduler is
 * gone; the jobs worker must bring it back by itself, without a restart. The loss is simulated
 * by deleting the sweep queue's keys under this run's own prefix (the shared Redis is never
 * flushed or stopped).
 */
describe('deadline sweep schedule: comes back after Redis loses its data', () => {
  const config = isolatedConfig({ JOBS_WORKER_METRICS_PORT: '0' });
  const QUEUE = QUEUES.deadlineSweep.name;
  let app: INestApplicationContext;
  let queue: Queue; // an observer, not the worker's own producer
  let redis: Redis;

  // Every re-upsert of the worker goes through this gate, so the test can hold them back and
  // count them without relying on timing.
  let upserts = 0;
  let gate: Promise<void> = Promise.resolve();
  let openGate: () => void = () => undefined;
  let heldAtGate = 0;

  const scheduler = () => queue.getJobScheduler(DEADLINE_SWEEP_SCHEDULER_ID);
  const sweepJobs = async (...states: ('delayed' | 'waiting' | 'active' | 'completed')[]): Promise<Job[]> =>
    (await queue.getJobs(states)).filter((j) => j.repeatJobKey === DEADLINE_SWEEP_SCHEDULER_ID);

  /** What Redis losing its data does to this queue: every one of its keys is gone. */
  const loseQueueData = async (): Promise<number> => {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.redis.queuePrefix}:${QUEUE}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  };

  beforeAll(async () => {
    app = await compileJobsWorker(config, (b) => b.overrideProvider(SWEEP_SCHEDULE_REFRESH_MS).useValue(200));

    const producer = app.get<BullMqJobQueue>(JOB_QUEUE).queue('deadlineSweep');
    const upsert = producer.upsertJobScheduler.bind(producer);
    jest.spyOn(producer, 'upsertJobScheduler').mockImplementation(async (...args) => {
      heldAtGate++;
      await gate;
      heldAtGate--;
      const r = await upsert(...args);
      upserts++;
      return r;
    });

    await app.init();
    queue = new Queue(QUEUE, queueOptions(config));
    redis = new Redis(config.redis.url, redisTlsOptions(config.redis));
  });

  afterAll(async () => {
    openGate();
    await app?.close();
    await queue?.obliterate({ force: true });
    await queue?.close();
    await redis?.quit();
    const cleaner = await createDataSource(config.database).initialize();
    await cleaner.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await cleaner.destroy();
  });

  it('registers the schedule at boot, and the first sweep runs', async () => {
    const s = await eventually(async () => (await scheduler()) ?? undefined, 'the sweep scheduler to be registered');
    expect(s.every).toBe(DEADLINE_SWEEP_EVERY_MS);
    const [done] = await eventually(async () => {
      const jobs = await sweepJobs('completed');
      return jobs.length > 0 ? jobs : undefined;
    }, 'the first sweep to complete');
    expect(done.returnvalue).toEqual({ swept: 0, published: 0 });
  });

  it('re-registering an unchanged schedule neither moves nor duplicates the next run', async () => {
    const before = (await scheduler())!;
    const pending = await sweepJobs('delayed', 'waiting');
    expect(pending.map((j) => j.id)).toEqual([`repeat:${DEADLINE_SWEEP_SCHEDULER_ID}:${before.next}`]);
    const completed = (await sweepJobs('completed')).length;

    const from = upserts;
    await eventually(async () => (upserts >= from + 3 ? true : undefined), 'three more re-registrations');

    expect((await scheduler())!.next).toBe(before.next);
    expect((await sweepJobs('delayed', 'waiting')).map((j) => j.id)).toEqual(pending.map((j) => j.id));
    expect(await sweepJobs('completed')).toHaveLength(completed);
  });

  it('after the queue data is lost, the schedule comes back by itself and sweeps run again', async () => {
    // Hold the next re-registration back, so nothing is in flight while the data goes.
    gate = new Promise<void>((resolve) => (openGate = resolve));
    await eventually(async () => (heldAtGate > 0 ? true : undefined), 'a re-registration to wait at the gate');

    expect(await loseQueueData()).toBeGreaterThan(0);
    expect(await scheduler()).toBeUndefined();
    expect(await queue.getJobSchedulersCount()).toBe(0);
    expect(await sweepJobs('delayed', 'waiting', 'active', 'completed')).toEqual([]);

    const from = upserts;
    openGate();
    const back = await eventually(async () => (await scheduler()) ?? undefined, 'the sweep scheduler to come back');
    expect(back.every).toBe(DEADLINE_SWEEP_EVERY_MS);
    expect(upserts).toBeGreaterThan(from);

    // It schedules again: a sweep runs now (the registration after a loss starts immediately)
    // and the run queues exactly one next iteration.
    const [ran] = await eventually(async () => {
      const jobs = await sweepJobs('completed');
      return jobs.length > 0 ? jobs : undefined;
    }, 'a sweep to complete after the loss');
    expect(ran.returnvalue).toEqual({ swept: 0, published: 0 });
    const next = await eventually(async () => {
      const s = await scheduler();
      const pending = await sweepJobs('delayed');
      return s?.next !== undefined && s.next > Number(ran.timestamp) && pending.length > 0 ? { s, pending } : undefined;
    }, 'the next iteration to be scheduled');
    expect(next.pending.map((j) => j.id)).toEqual([`repeat:${DEADLINE_SWEEP_SCHEDULER_ID}:${next.s.next}`]);
  });
});
