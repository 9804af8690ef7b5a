import { request } from 'node:http';
import { INestApplicationContext } from '@nestjs/common';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { decodeMessage } from '@app/contracts';
import { DEADLINE_SWEEP_SCHEDULER_ID, QUEUES, queueOptions } from '@app/jobs';
import { MetricsEndpoint } from '@app/observability';
import { createDataSource, RecomputeRequestRepository } from '@app/persistence';
import { CourseRecompute, InputApplier, RecomputeProgress } from '@app/projection';
import { clock, events, InputMessage } from '@app/workload';
import { eventually } from '../support/eventually';
import { compileJobsWorker } from '../support/jobs-worker';
import { isolatedConfig } from '../support/isolation';
import { fillToOom, startThrowawayRedis, ThrowawayRedis } from '../support/throwaway-redis';

const COURSE = 800;
const SECTION = 1;
/** Three chunks of the recompute's walk (500 each): the job reports progress, to Redis, between them. */
const MEMBERS = 1500;
/** The member whose deadline passes while Redis is full. */
const LATE = MEMBERS + 1;

function getJson(port: number, path: string): Promise<{ status: number; body: { status: string; reasons: string[] } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A Redis at `maxmemory` with `noeviction` refuses every write with `OOM command not allowed`
 * while still answering reads. Work requested meanwhile must not be lost: once Redis accepts
 * writes again, each recompute request is carried out and the deadline sweep catches up, without
 * an operator. The Redis here is the test's own (tiny maxmemory, nothing on disk); the machine's
 * Redis is never filled.
 */
describe('a full Redis (maxmemory, noeviction) loses no requested work', () => {
  let redis: ThrowawayRedis;
  let config: ReturnType<typeof isolatedConfig>;
  let app: INestApplicationContext;
  let ds: DataSource;
  let applier: InputApplier;
  let queue: Queue;
  let healthPort: number;
  const at = clock();

  /** Set by the test: runs once, between the recompute's first chunk and its progress report. */
  let onFirstChunk: (() => Promise<void>) | undefined;

  const apply = async (...msgs: InputMessage[]): Promise<void> => {
    const decoded = msgs.map((m) => {
      const r = decodeMessage({ topic: config.topics[m.topic], key: Buffer.from(m.key), value: Buffer.from(m.value) }, config.topics);
      if (!r.ok) throw new Error(`test message rejected: ${r.reason}`);
      return r.event;
    });
    await applier.apply(decoded);
  };
  const lesson = (id: number) =>
    events.lessonUpserted(COURSE, { id, section_id: SECTION, name: `Lesson ${id}`, status: 'published', position: id }, { time: at(), id: `lesson-${id}` });
  const pendingRequests = (): Promise<number> => new RecomputeRequestRepository().pendingCount(ds);
  /** How many of the course's enrollments show each lesson count. */
  const lessonCounts = async (): Promise<Record<string, number>> => {
    const rows: { n: string; c: number }[] = await ds.query(
      `SELECT state->'remote_data'->>'num_lessons' AS n, count(*)::int AS c FROM enrollments WHERE course_id = $1 AND NOT deleted GROUP BY 1`,
      [COURSE],
    );
    return Object.fromEntries(rows.map((r) => [r.n, r.c]));
  };
  const statusOf = async (userId: number): Promise<string> =>
    (await ds.query(`SELECT status FROM enrollments WHERE course_id = $1 AND user_id = $2`, [COURSE, userId]))[0]?.status;

  beforeAll(async () => {
    redis = await startThrowawayRedis({ maxmemory: '24mb' });
    config = isolatedConfig({ REDIS_URL: redis.url, JOBS_WORKER_METRICS_PORT: '0' });
    app = await compileJobsWorker(config);
    const recompute = app.get(CourseRecompute);
    const run = recompute.run.bind(recompute);
    jest.spyOn(recompute, 'run').mockImplementation((courseId: number, onProgress?: (p: RecomputeProgress) => Promise<void> | void) =>
      run(courseId, async (p) => {
        const hook = onFirstChunk;
        onFirstChunk = undefined;
        await hook?.();
        await onProgress?.(p);
      }),
    );
    await app.init();
    ds = app.get(DataSource);
    applier = app.get(InputApplier);
    healthPort = app.get(MetricsEndpoint).boundPort()!;
    queue = new Queue(QUEUES.courseRecompute.name, queueOptions(config));
  });

  afterAll(async () => {
    await app?.close();
    await queue?.close();
    await redis?.stop();
    if (config) {
      const cleaner = await createDataSource(config.database).initialize();
      await cleaner.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
      await cleaner.destroy();
    }
  });

  it(`seeds a course of 2 lessons and ${MEMBERS} members (the seed's recomputes drain)`, async () => {
    await apply(
      events.courseUpserted({ id: COURSE, name: 'Big course', slug: 'big-course' }, { time: at(), id: 'course' }),
      events.sectionUpserted(COURSE, { id: SECTION, name: 'Basics', position: 1 }, { time: at(), id: 'section' }),
      lesson(1),
      lesson(2),
    );
    const joins: InputMessage[] = [];
    for (let u = 1; u <= MEMBERS; u++) joins.push(events.membershipChanged({ course_id: COURSE, user_id: u, join_status: 'joined' }, { time: at(), id: `join-${u}` }));
    await apply(...joins);
    await eventually(async () => ((await pendingRequests()) === 0 ? true : undefined), 'the seed recomputes to drain', 60_000);
    expect(await lessonCounts()).toEqual({ '2': MEMBERS });
    const ready = await getJson(healthPort, '/health/ready');
    expect(ready.status).toBe(200);
  });

  it('a lesson published while Redis fills up reaches every enrollment once Redis has memory again; readiness says why meanwhile; the sweep catches up', async () => {
    let filled = 0;
    let resume: () => void = () => undefined;
    const full = new Promise<void>((resolve) => (resume = resolve));
    // Redis fills up after the job has started: the first chunk is written, the job's next
    // write to Redis (its progress) meets OOM.
    onFirstChunk = async () => {
      filled = await fillToOom(redis.admin);
      resume();
    };
    await apply(lesson(3));
    const generation = (await new RecomputeRequestRepository().find(ds, COURSE))!.generation;
    await full;
    expect(filled).toBeGreaterThan(0);
    await expect(redis.admin.set('probe', '1')).rejects.toThrow(/OOM/);

    // While Redis is full, a deadline passes: only a sweep can republish it.
    const dueAt = new Date(Date.now() + 1000).toISOString();
    await apply(
      events.membershipChanged(
        { course_id: COURSE, user_id: LATE, join_status: 'joined', assignment: { due_at: dueAt, is_mandatory: true } },
        { time: at(), id: `join-${LATE}` },
      ),
    );

    // Recorded now, asserted once the work has converged (what is lost matters most).
    const during = await getJson(healthPort, '/health/ready');

    // The job meets OOM on every attempt it has; Redis stays full until it has spent them all.
    const failed = await eventually(
      async () => {
        const [job] = await queue.getJobs(['failed']);
        return job;
      },
      'the recompute job to fail for good against the full Redis',
      60_000,
    );
    expect(failed.failedReason).toMatch(/OOM/);
    expect(failed.id).toBe(`course-${COURSE}-g${generation}`);
    expect(await lessonCounts()).not.toEqual({ '3': MEMBERS + 1 });
    expect(await statusOf(LATE)).not.toBe('overdue');

    await redis.admin.config('SET', 'maxmemory', '256mb');
    const recoveredAt = Date.now();

    await eventually(
      async () => {
        const counts = await lessonCounts();
        return counts['3'] === MEMBERS + 1 && (await pendingRequests()) === 0 ? counts : undefined;
      },
      'every enrollment to show 3 lessons and no recompute request to be owed',
      90_000,
    );

    // The failed job stays for the operator to see; the request's next attempt did the work.
    const next = await queue.getJob(`course-${COURSE}-g${generation}-a2`);
    expect(await next?.getState()).toBe('completed');
    expect(await failed.getState()).toBe('failed');

    expect(during.status).toBe(503);
    expect(during.body.status).toBe('not ready');
    expect(during.body.reasons.join('\n')).toMatch(/Redis refuses writes.*OOM/);
    const after = await eventually(async () => {
      const r = await getJson(healthPort, '/health/ready');
      return r.status === 200 ? r : undefined;
    }, 'readiness to answer 200 once Redis accepts writes');
    expect(after.body.reasons).toEqual([]);

    // The sweep's promise (a passed deadline shows within 60 s) holds from the moment Redis is back.
    await eventually(
      async () => ((await statusOf(LATE)) === 'overdue' ? true : undefined),
      'the deadline sweep to mark the late member overdue',
      60_000 - (Date.now() - recoveredAt),
    );
    const sweeps = new Queue(QUEUES.deadlineSweep.name, queueOptions(config));
    try {
      const done = (await sweeps.getJobs(['completed'])).filter((j) => j.repeatJobKey === DEADLINE_SWEEP_SCHEDULER_ID && (j.finishedOn ?? 0) >= recoveredAt);
      expect(done.length).toBeGreaterThan(0);
    } finally {
      await sweeps.close();
    }
  }, 240_000);
});
