import { INestApplicationContext } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { decodeMessage, InputEvent } from '@app/contracts';
import { BullMqJobQueue, courseRecomputeJobId, JOB_QUEUE, JobQueuePort, jobId, QUEUES, queueOptions } from '@app/jobs';
import { createDataSource, migrateUp, PgNotificationListener, RecomputeRequestRepository, RecomputeRequestStore } from '@app/persistence';
import { InputApplier } from '@app/projection';
import { clock, events, InputMessage } from '@app/workload';
import { assertProcessorsRegistered } from '../../apps/jobs-worker/src/jobs-worker.lifecycle';
import { RecomputeDispatcher } from '../../apps/jobs-worker/src/recompute/recompute-dispatcher';
import { eventually } from '../support/eventually';
import { compileJobsWorker } from '../support/jobs-worker';
import { isolatedConfig } from '../support/isolation';

const COURSE = 42;
const SECTION = 7;
const USERS = [1, 2, 3];

interface OutboxRow {
  seq: string;
  enrollment_id: string;
  version: number;
  event: { type: string; data: { cause: Record<string, string>; course_enrollment: { progress_percent: number; status: string } } };
}

const silentLogger = (): PinoLogger => ({ setContext() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} }) as unknown as PinoLogger;

describe('course recompute: durable request → BullMQ job → re-derived enrollments', () => {
  const config = isolatedConfig({ JOBS_WORKER_METRICS_PORT: '0' });
  const at = clock();
  let app: INestApplicationContext;
  let ds: DataSource;
  let applier: InputApplier;
  let queue: Queue;

  const apply = async (...msgs: InputMessage[]): Promise<InputEvent[]> => {
    const decoded = msgs.map((m) => {
      const r = decodeMessage({ topic: config.topics[m.topic], key: Buffer.from(m.key), value: Buffer.from(m.value) }, config.topics);
      if (!r.ok) throw new Error(`test message rejected: ${r.reason}`);
      return r.event;
    });
    await applier.apply(decoded);
    return decoded;
  };
  const pendingRequests = (): Promise<number> => new RecomputeRequestRepository().pendingCount(ds);
  const outboxAfter = async (seq: string): Promise<OutboxRow[]> =>
    ds.query(`SELECT seq::text, enrollment_id, version, event FROM outbox WHERE seq > $1 ORDER BY seq`, [seq]);
  const lastSeq = async (): Promise<string> => (await ds.query(`SELECT coalesce(max(seq), 0)::text AS s FROM outbox`))[0].s;
  const lesson = (id: number, position: number) =>
    events.lessonUpserted(COURSE, { id, section_id: SECTION, name: `Lesson ${id}`, status: 'published', position }, { time: at(), id: `lesson-${id}-${at()}` });

  beforeAll(async () => {
    app = await compileJobsWorker(config);
    await app.init();
    ds = app.get(DataSource);
    applier = app.get(InputApplier);
    queue = new Queue(QUEUES.courseRecompute.name, queueOptions(config));
  });

  afterAll(async () => {
    await app?.close();
    await queue?.obliterate({ force: true });
    await queue?.close();
    const cleaner = await createDataSource(config.database).initialize();
    await cleaner.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await cleaner.destroy();
  });

  it('seeds a course of 2 lessons with 3 members, one complete (recomputes of the seed drain)', async () => {
    await apply(
      events.courseUpserted({ id: COURSE, name: 'Onboarding', slug: 'onboarding' }, { time: at(), id: 'course-42' }),
      events.sectionUpserted(COURSE, { id: SECTION, name: 'Basics', position: 1 }, { time: at(), id: 'section-7' }),
      lesson(1, 1),
      lesson(2, 2),
      ...USERS.map((u) => events.userUpserted({ id: u, username: `user${u}` }, { time: at(), id: `user-${u}` })),
      ...USERS.map((u) => events.membershipChanged({ course_id: COURSE, user_id: u, join_status: 'joined' }, { time: at(), id: `join-${u}` })),
    );
    await apply(
      events.lessonCompleted({ course_id: COURSE, lesson_id: 1, user_id: 1 }, { time: at(), id: 'done-1-1' }),
      events.lessonCompleted({ course_id: COURSE, lesson_id: 2, user_id: 1 }, { time: at(), id: 'done-1-2' }),
      events.lessonCompleted({ course_id: COURSE, lesson_id: 1, user_id: 2 }, { time: at(), id: 'done-2-1' }),
    );
    await eventually(async () => ((await pendingRequests()) === 0 ? true : undefined), 'the seed recomputes to drain');

    const latest: { enrollment_id: string; pct: number }[] = await ds.query(
      `SELECT DISTINCT ON (enrollment_id) enrollment_id, (event->'data'->'course_enrollment'->>'progress_percent')::float AS pct
       FROM outbox ORDER BY enrollment_id, version DESC`,
    );
    expect(Object.fromEntries(latest.map((r) => [r.enrollment_id, r.pct]))).toEqual({ '42:1': 100, '42:2': 50, '42:3': 0 });
  });

  it('publishing a 3rd lesson is recomputed by a job: every enrollment gets a new version caused by the lesson event', async () => {
    const before = await lastSeq();
    const [lessonEvent] = await apply(lesson(3, 3));
    const requests = app.get(RecomputeRequestRepository);
    const request = await requests.find(ds, COURSE);
    expect(request).toBeDefined();
    expect(request!.cause).toEqual({ source: lessonEvent.source, id: lessonEvent.id, type: 'lms.lesson.upserted' });
    const id = courseRecomputeJobId(request!);
    expect(id).toBe(`course-42-g${request!.generation}`);

    const rows = await eventually(async () => {
      const r = await outboxAfter(before);
      return r.length >= USERS.length && (await pendingRequests()) === 0 ? r : undefined;
    }, 'the recompute job to publish and complete the request');

    expect(rows).toHaveLength(USERS.length);
    const byId = Object.fromEntries(rows.map((r) => [r.enrollment_id, r]));
    expect(Object.keys(byId).sort()).toEqual(['42:1', '42:2', '42:3']);
    expect(byId['42:1'].event.data.course_enrollment.progress_percent).toBe(66.67);
    expect(byId['42:1'].event.data.course_enrollment.status).toBe('in_progress'); // no longer complete
    expect(byId['42:2'].event.data.course_enrollment.progress_percent).toBe(33.33);
    expect(byId['42:3'].event.data.course_enrollment.progress_percent).toBe(0);
    for (const r of rows) {
      expect(r.event.type).toBe('lms.course_enrollment.updated');
      expect(r.event.data.cause).toEqual({ source: lessonEvent.source, id: lessonEvent.id, type: 'lms.lesson.upserted' });
    }

    const job = await queue.getJob(id);
    expect(job).toBeDefined();
    expect(await job!.getState()).toBe('completed');
    expect(job!.progress).toEqual({ done: 3, total: 3, published: 3 });
    expect(job!.returnvalue).toMatchObject({ courseId: COURSE, done: 3, total: 3, published: 3, completed: true });

    // The same request enqueued again is the same job: not added, not run a second time.
    const port = app.get<JobQueuePort>(JOB_QUEUE);
    const data = { courseId: COURSE, generation: request!.generation, cause: request!.cause };
    const again = await port.enqueue('courseRecompute', 'course-recompute', data, { jobId: id });
    const twice = await port.enqueue('courseRecompute', 'course-recompute', data, { jobId: id });
    expect([again.id, twice.id]).toEqual([id, id]);
    await new Promise((r) => setTimeout(r, 500));
    const same = await queue.getJob(id);
    expect(await same!.getState()).toBe('completed');
    expect(same!.finishedOn).toBe(job!.finishedOn);
    expect(await queue.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 0, active: 0, delayed: 0 });
    expect(await outboxAfter(rows[rows.length - 1].seq)).toEqual([]);
  });

  it('a lesson re-sent unchanged (newer, same content) requests no recompute, nor does its duplicate', async () => {
    const before = await lastSeq();
    const completed = await queue.getJobCountByTypes('completed');
    const resent = events.lessonUpserted(COURSE, { id: 3, section_id: SECTION, name: 'Lesson 3', status: 'published', position: 3 }, { time: at(), id: 'resent' });
    await apply(resent);
    expect(await pendingRequests()).toBe(0);
    await apply(resent); // same (source, id): a duplicate
    expect(await pendingRequests()).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(await queue.getJobCountByTypes('completed')).toBe(completed);
    // Nothing changed (the lesson was already published as it is): no new version.
    expect(await outboxAfter(before)).toEqual([]);
  });
});

describe('recompute dispatcher while Redis is unreachable', () => {
  const config = isolatedConfig();
  let ds: DataSource;
  let queue: Queue;
  const requests = new RecomputeRequestRepository();
  // dispatchOnce only: the listener is never subscribed to, so it opens no session.
  const dispatcherWith = (port: JobQueuePort) =>
    new RecomputeDispatcher(new RecomputeRequestStore(ds), new PgNotificationListener(config.database, 'test'), port, silentLogger(), 60_000);

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    queue = new Queue(QUEUES.courseRecompute.name, queueOptions(config));
  });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    await ds.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds.destroy();
  });

  it('keeps the requests in Postgres and enqueues them once Redis is back', async () => {
    const meta = { time: '2026-11-01T09:00:00.000Z', source: '/community', id: 'l-9', type: 'lms.lesson.upserted' };
    await requests.request(
      ds,
      new Map([
        [9, meta],
        [10, meta],
      ]),
    );
    await requests.request(ds, new Map([[9, meta]])); // a second change of course 9: generation 2

    const down = new BullMqJobQueue({ ...config, redis: { ...config.redis, url: 'redis://127.0.0.1:1' } }, 1000);
    try {
      const started = Date.now();
      await expect(dispatcherWith(down).dispatchOnce()).resolves.toEqual({ enqueued: 0, failed: true });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await down.close();
    }
    expect((await requests.pending(ds)).map((r) => [r.courseId, r.generation]).sort()).toEqual([
      [10, 1],
      [9, 2],
    ]);

    const up = new BullMqJobQueue(config);
    try {
      const dispatcher = dispatcherWith(up);
      await expect(dispatcher.dispatchOnce()).resolves.toEqual({ enqueued: 2, failed: false });
      // Another dispatcher finds both jobs waiting: it adds nothing.
      await expect(dispatcherWith(up).dispatchOnce()).resolves.toEqual({ enqueued: 0, failed: false });
    } finally {
      await up.close();
    }
    const jobs = await queue.getJobs(['waiting']);
    expect(jobs.map((j) => j.id!).sort()).toEqual(['course-10-g1', 'course-9-g2']);
    const job = jobs.find((j) => j.id === 'course-9-g2')!;
    expect(job.data).toEqual({ courseId: 9, generation: 2, cause: { source: '/community', id: 'l-9', type: 'lms.lesson.upserted' } });
    expect(job.opts).toMatchObject({ attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnFail: false });
    expect(await requests.pending(ds)).toHaveLength(2); // only the job completes a request
  });

  it('enqueues again a job that Redis lost, under the same id', async () => {
    await (await queue.getJob('course-10-g1'))!.remove();
    const up = new BullMqJobQueue(config);
    try {
      await expect(dispatcherWith(up).dispatchOnce()).resolves.toEqual({ enqueued: 1, failed: false });
    } finally {
      await up.close();
    }
    expect((await queue.getJobs(['waiting'])).map((j) => j.id!).sort()).toEqual(['course-10-g1', 'course-9-g2']);
  });

  it('counts the next attempt of a request once, whichever dispatcher asks first', async () => {
    const [r] = (await requests.pending(ds)).filter((p) => p.courseId === 9);
    expect(r.attempt).toBe(1);
    await expect(requests.nextAttempt(ds, r)).resolves.toBe(2);
    await expect(requests.nextAttempt(ds, r)).resolves.toBe(2); // a second dispatcher that saw attempt 1 end
    expect(courseRecomputeJobId({ ...r, attempt: 2 })).toBe('course-9-g2-a2');
    await requests.request(ds, new Map([[9, { time: '2026-11-01T09:01:00.000Z', source: '/community', id: 'l-10', type: 'lms.lesson.upserted' }]]));
    const renewed = await requests.find(ds, 9);
    expect([renewed!.generation, renewed!.attempt]).toEqual([3, 1]); // a new request starts at its first attempt
    await expect(requests.nextAttempt(ds, r)).resolves.toBeUndefined(); // generation 2 is no longer the one owed
  });
});

describe('job ids and processor registration', () => {
  it('builds BullMQ-safe deterministic ids', () => {
    const id = courseRecomputeJobId({ courseId: 42, generation: 3 });
    expect(id).toBe('course-42-g3');
    expect(courseRecomputeJobId({ courseId: 42, generation: 3, attempt: 1 })).toBe(id);
    expect(courseRecomputeJobId({ courseId: 42, generation: 3, attempt: 2 })).toBe('course-42-g3-a2');
    expect(courseRecomputeJobId({ courseId: 42, generation: 4 })).not.toBe(id);
    expect(() => jobId('a:b')).toThrow(/':'/);
    expect(() => jobId(12)).toThrow();
  });

  it('fails boot when a processed queue has no worker, or a worker has no queue', () => {
    const w = (name: string) => ({ name }) as never;
    const all = new Map(Object.values(QUEUES).map((q) => [q.name, w(q.name)] as const));
    expect(() => assertProcessorsRegistered(all)).not.toThrow();
    const missing = new Map(all);
    missing.delete('replay');
    expect(() => assertProcessorsRegistered(missing)).toThrow(/no worker for replay/);
    expect(() => assertProcessorsRegistered(new Map())).toThrow(/no worker for course-recompute, deadline-sweep, rebuild, replay/);
    expect(() =>
      assertProcessorsRegistered(
        new Map([
          ['course-recompute', w('x')],
          ['nope', w('nope')],
        ]),
      ),
    ).toThrow(/unknown queue nope/);
  });
});
