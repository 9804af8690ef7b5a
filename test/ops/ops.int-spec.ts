/**
 * Operating the jobs: the queue dashboard and queue gauges of the read API, the ops CLI against a
 * jobs worker running in-process, and recompute requests surviving a Redis outage. Real Postgres
 * and Redis; the outage uses a private redis-server that the test kills and restarts.
 */
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { AppConfig, APP_CONFIG } from '@app/config';
import { QUEUES, QueueKey, queueOptions } from '@app/jobs';
import { createDataSource, migrateUp, RecomputeRequestRepository } from '@app/persistence';
import { InputApplier } from '@app/projection';
import { clock, events, InputMessage } from '@app/workload';
import { decodeMessage } from '@app/contracts';
import { JobsWorkerModule } from '../../apps/jobs-worker/src/jobs-worker.module';
import { ReadApiModule } from '../../apps/read-api/src/read-api.module';
import { main, progressLine } from '../../scripts/ops';
import { eventually } from '../support/eventually';
import { isolatedConfig } from '../support/isolation';
import { createRunTopics, testKafka } from '../support/kafka';
import { projectionFixture } from '../support/projection';

const TOKEN = 'o'.repeat(32);
/** The outage makes the worker log every failed reconnect; keep the run readable unless asked. */
const LOG_LEVEL = process.env.LOG_LEVEL || 'fatal';
const COURSE = 42;
const SECTION = 7;
const USERS = [1, 2, 3];

const seed = (at: () => string): InputMessage[] => [
  events.courseUpserted({ id: COURSE, name: 'Onboarding', slug: 'onboarding' }, { time: at(), id: 'course-42' }),
  events.sectionUpserted(COURSE, { id: SECTION, name: 'Basics', position: 1 }, { time: at(), id: 'section-7' }),
  events.lessonUpserted(COURSE, { id: 1, section_id: SECTION, name: 'Lesson 1', status: 'published', position: 1 }, { time: at(), id: 'lesson-1' }),
  events.lessonUpserted(COURSE, { id: 2, section_id: SECTION, name: 'Lesson 2', status: 'published', position: 2 }, { time: at(), id: 'lesson-2' }),
  ...USERS.map((u) => events.userUpserted({ id: u, username: `user${u}` }, { time: at(), id: `user-${u}` })),
  ...USERS.map((u) => events.membershipChanged({ course_id: COURSE, user_id: u, join_status: 'joined' }, { time: at(), id: `join-${u}` })),
  events.lessonCompleted({ course_id: COURSE, lesson_id: 1, user_id: 1 }, { time: at(), id: 'done-1-1' }),
];

class Captured {
  text = '';
  isTTY = false;
  write(s: string): boolean {
    this.text += s;
    return true;
  }
  progressLines(): string[] {
    return this.text.split('\n').filter((l) => l.startsWith('['));
  }
}

async function dropSchema(config: AppConfig): Promise<void> {
  const ds = await createDataSource(config.database).initialize();
  await ds.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
  await ds.destroy();
}

async function obliterate(config: AppConfig): Promise<void> {
  for (const key of Object.keys(QUEUES) as QueueKey[]) {
    const q = new Queue(QUEUES[key].name, queueOptions(config));
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  }
}

describe('ops: queue dashboard, queue metrics and the ops CLI', () => {
  const config = isolatedConfig({ API_TOKENS: TOKEN, JOBS_WORKER_METRICS_PORT: '0', LOG_LEVEL });
  const at = clock();
  let worker: INestApplicationContext;
  let api: INestApplication;
  let base: string;
  let ds: DataSource;
  let dropTopics: (() => Promise<void>) | undefined;

  const apply = async (...msgs: InputMessage[]): Promise<void> => {
    await worker.get(InputApplier).apply(
      msgs.map((m) => {
        const r = decodeMessage({ topic: config.topics[m.topic], key: Buffer.from(m.key), value: Buffer.from(m.value) }, config.topics);
        if (!r.ok) throw new Error(r.reason);
        return r.event;
      }),
    );
  };
  const pending = () => new RecomputeRequestRepository().pendingCount(ds);
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  beforeAll(async () => {
    const migrator = await createDataSource(config.database).initialize();
    await migrateUp(migrator, config.database.schema);
    await migrator.destroy();
    dropTopics = await createRunTopics(config);

    worker = await Test.createTestingModule({ imports: [JobsWorkerModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(config)
      .compile();
    await worker.init();
    ds = worker.get(DataSource);

    const moduleRef = await Test.createTestingModule({ imports: [ReadApiModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(config)
      .compile();
    api = moduleRef.createNestApplication({ logger: false });
    await api.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(api.getHttpServer().address() as AddressInfo).port}`;

    await apply(...seed(at));
    await eventually(async () => ((await pending()) === 0 ? true : undefined), 'the seed recomputes to drain');
  });

  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await obliterate(config);
    await dropSchema(config);
    await dropTopics?.();
  });

  describe('Bull Board at /admin/queues', () => {
    it('refuses requests without credentials or with a wrong token, with a Basic challenge', async () => {
      for (const headers of [
        {} as Record<string, string>,
        { authorization: 'Bearer wrong-token-wrong-token-wrong' },
        { authorization: basic('ops', 'nope') },
        { authorization: 'Bearer' },
      ]) {
        for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
          const res = await get(path, headers);
          expect({ path, headers, status: res.status }).toEqual({ path, headers, status: 401 });
          expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="enrollment-sync queues"/);
        }
      }
    });

    it('serves the UI with a bearer token and with Basic (token as password, any user name)', async () => {
      for (const authorization of [`Bearer ${TOKEN}`, basic('anyone', TOKEN), basic('', TOKEN)]) {
        const res = await get('/admin/queues', { authorization });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/text\/html/);
        await res.text();
      }
    });

    it('lists the four queues by display name in its API', async () => {
      for (const authorization of [`Bearer ${TOKEN}`, basic('ops', TOKEN)]) {
        const res = await get('/admin/queues/api/queues', { authorization });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { queues: { name: string; displayName?: string }[] };
        expect(body.queues.map((q) => [q.name, q.displayName]).sort()).toEqual(
          Object.values(QUEUES)
            .map((q) => [q.name, q.displayName])
            .sort(),
        );
      }
    });

    it('leaves the token-guarded JSON API as it was', async () => {
      expect((await get('/unified/lms/course-enrollments')).status).toBe(401);
      expect((await get('/health/live')).status).toBe(200);
    });
  });

  describe('ops CLI', () => {
    it('recompute --course: writes a request, follows its job to the end and prints 100%', async () => {
      const out = new Captured();
      const code = await main(['recompute', '--course', String(COURSE)], out, { config, pollMs: 50, timeoutMs: 60_000 });
      expect({ code, output: out.text }).toEqual({ code: 0, output: out.text });
      const lines = out.progressLines();
      expect(lines.length).toBeGreaterThan(0);
      expect(lines[lines.length - 1]).toMatch(/^\[#{20}\] 100% 3\/3 published 0$/);
      expect(out.text).toMatch(/course-recompute\/course-42-g\d+ completed: \{"courseId":42,"done":3,"total":3,"published":0,"completed":true\}/);
      expect(await pending()).toBe(0);
      const [row] = await ds.query(`SELECT cause FROM recompute_requests WHERE course_id = $1`, [COURSE]);
      expect(row.cause).toMatchObject({ source: '/enrollment-sync/ops', type: 'ops.recompute' });
      expect(row.cause.id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('recompute on a TTY redraws one line with \\r and ends it at 100%', async () => {
      const out = Object.assign(new Captured(), { isTTY: true });
      expect(await main(['recompute', '--course', String(COURSE)], out, { config, pollMs: 50, timeoutMs: 60_000 })).toBe(0);
      expect(out.text).toMatch(/\r\[#{20}\] 100% 3\/3 published 0\x1b\[K\n/);
      expect(out.text).not.toMatch(/\n\[/); // progress is never a line of its own on a TTY
    });

    it('rebuild: enqueues the rebuild job and follows it to 100%', async () => {
      const out = new Captured();
      const code = await main(['rebuild'], out, { config, pollMs: 50, timeoutMs: 60_000 });
      expect({ code, output: out.text }).toEqual({ code: 0, output: out.text });
      const lines = out.progressLines();
      expect(lines[lines.length - 1]).toMatch(/^\[#{20}\] 100% 3\/3/);
      expect(out.text).toMatch(/rebuild\/rebuild-\d{12} enqueued/);
    });

    it('replay --topic: re-reads the topic (already applied: all duplicates) to 100%', async () => {
      const producer = testKafka(config).producer({ idempotent: true });
      await producer.connect();
      try {
        const courses = seed(clock('2026-11-02T09:00:00.000Z')).filter((m) => m.topic === 'courses');
        await producer.send({ topic: config.topics.courses, messages: courses.map((m) => ({ key: m.key, value: m.value })) });
      } finally {
        await producer.disconnect();
      }
      const out = new Captured();
      const code = await main(['replay', '--topic', 'courses', '--from-offset', '0'], out, { config, pollMs: 50, timeoutMs: 90_000 });
      expect({ code, output: out.text }).toEqual({ code: 0, output: out.text });
      const lines = out.progressLines();
      expect(lines[lines.length - 1]).toMatch(/^\[#{20}\] 100% 4\/4 applied \d+ duplicate \d+ noop \d+ invalid 0$/);
      expect(out.text).toMatch(/replay\/replay-[0-9a-f]{12}-\d{12} enqueued/);
    });

    it('status: job counts per queue', async () => {
      const out = new Captured();
      expect(await main(['status'], out, { config })).toBe(0);
      for (const q of Object.values(QUEUES)) expect(out.text).toContain(q.name);
      expect(out.text.split('\n')[0]).toMatch(/^queue\s+waiting\s+active\s+delayed\s+prioritized\s+completed\s+failed\s+paused$/);
    });

    it.each([
      [['frobnicate'], 2, /unknown command "frobnicate"/],
      [['replay'], 2, /replay: missing --topic <name>/],
      [['replay', '--topic', 'courses', '--from-time', 'yesterday'], 2, /--from-time: not an RFC 3339 timestamp/],
      [['replay', '--topic', 'courses', '--from-time', '2026-11-01T09:00:00'], 2, /not an RFC 3339 timestamp with a zone offset/],
      [['replay', '--topic', 'courses', '--from-offset', '-1'], 2, /--from-offset needs a value|must be a non-negative integer/],
      [['replay', '--topic', 'courses', '--from-offset', '1', '--from-time', '2026-11-01T09:00:00Z'], 2, /not both/],
      [['replay', '--topic', 'nope'], 2, /unknown topic "nope"/],
      [['recompute'], 2, /recompute: missing --course <id>/],
      [['recompute', '--course', 'x'], 2, /--course must be a non-negative integer/],
      [['rebuild', '--bogus', '1'], 2, /unknown option --bogus/],
      [[], 2, /usage: npm run ops/],
      [['--help'], 0, /usage: npm run ops -- <command>/],
      [['replay', '--help'], 0, /--from-offset <n> \| --from-time <RFC 3339>/],
    ])('%j → exit %d', async (argv, expected, message) => {
      const out = new Captured();
      expect(await main(argv, out, { config })).toBe(expected);
      expect(out.text).toMatch(message);
    });

    it('draws the progress bar', () => {
      expect(progressLine({ done: 1234, total: 2468, applied: 1200, duplicate: 30, invalid: 4 }, 10)).toBe(
        '[#####.....] 50% 1,234/2,468 applied 1,200 duplicate 30 invalid 4',
      );
      expect(progressLine({ done: 0, total: 0 }, 10, true)).toBe('[##########] 100% 0/0');
    });
  });

  describe('/metrics', () => {
    it('has enrollment_sync_queue_jobs per queue and state', async () => {
      const res = await get('/metrics');
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('# TYPE enrollment_sync_queue_jobs gauge');
      const completed = /^enrollment_sync_queue_jobs\{queue="course-recompute",state="completed"\} (\d+)$/m.exec(text);
      expect(completed).not.toBeNull();
      expect(Number(completed![1])).toBeGreaterThanOrEqual(2); // the seed's and the CLI's
      for (const q of Object.values(QUEUES)) {
        for (const state of ['waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized']) {
          expect(text).toMatch(new RegExp(`^enrollment_sync_queue_jobs\\{queue="${q.name}",state="${state}"\\} \\d+$`, 'm'));
        }
      }
      expect(text).toMatch(/^enrollment_sync_queue_jobs\{queue="rebuild",state="completed"\} 1$/m);
    });
  });
});

describe('/metrics while Redis is unreachable', () => {
  const config = isolatedConfig({ API_TOKENS: TOKEN, REDIS_URL: 'redis://127.0.0.1:1/0', LOG_LEVEL });
  let api: INestApplication;

  beforeAll(async () => {
    const migrator = await createDataSource(config.database).initialize();
    await migrateUp(migrator, config.database.schema);
    await migrator.destroy();
    const moduleRef = await Test.createTestingModule({ imports: [ReadApiModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(config)
      .compile();
    api = moduleRef.createNestApplication({ logger: false });
    await api.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await api?.close();
    await dropSchema(config);
  });

  it('still answers, without the queue series', async () => {
    const port = (api.getHttpServer().address() as AddressInfo).port;
    const started = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).not.toMatch(/^enrollment_sync_queue_jobs\{/m);
  });
});

// ------------------------------------------------------------------------------------------------

const PRIVATE_REDIS_PORT = Number(process.env.OPS_TEST_REDIS_PORT ?? 6391);

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  if (await portAnswers(port)) throw new Error(`port ${port} is taken: set OPS_TEST_REDIS_PORT to a free port`);
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: 'ignore',
  });
  await eventually(async () => ((await portAnswers(port)) ? true : undefined), `redis-server on port ${port}`, 10_000);
  return child;
}

async function killRedis(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('a structure change while Redis is down is recomputed once Redis is back', () => {
  const at = clock();
  let redis: ChildProcess | undefined;
  let fixture: Awaited<ReturnType<typeof projectionFixture>>;
  let worker: INestApplicationContext | undefined;

  const pending = () => new RecomputeRequestRepository().pendingCount(fixture.ds);
  const lastSeq = async (): Promise<string> => (await fixture.ds.query(`SELECT coalesce(max(seq), 0)::text AS s FROM outbox`))[0].s;

  beforeAll(async () => {
    redis = await startRedis(PRIVATE_REDIS_PORT);
    fixture = await projectionFixture({
      REDIS_URL: `redis://127.0.0.1:${PRIVATE_REDIS_PORT}/0`,
      JOBS_WORKER_METRICS_PORT: '0',
      LOG_LEVEL,
    });
    worker = await Test.createTestingModule({ imports: [JobsWorkerModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(fixture.config)
      .compile();
    await worker.init();
  });

  afterAll(async () => {
    await worker?.close();
    await killRedis(redis);
    await fixture?.close();
  });

  it('seeds a course whose recomputes drain through the private Redis', async () => {
    await fixture.apply(...seed(at));
    await eventually(async () => ((await pending()) === 0 ? true : undefined), 'the seed recomputes to drain');
  });

  it('ingests with Redis killed, keeps the request, and runs it after the restart', async () => {
    await killRedis(redis);
    redis = undefined;
    const before = await lastSeq();

    const outcomes = await fixture.apply(
      events.lessonUpserted(COURSE, { id: 3, section_id: SECTION, name: 'Lesson 3', status: 'published', position: 3 }, { time: at(), id: 'lesson-3' }),
    );
    expect(outcomes).toHaveLength(1);
    expect(await pending()).toBe(1);

    // The dispatcher tries (and fails) to enqueue while Redis is away: the request stays owed.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await pending()).toBe(1);
    expect(await fixture.ds.query(`SELECT count(*)::int AS n FROM outbox WHERE seq > $1`, [before])).toEqual([{ n: 0 }]);

    redis = await startRedis(PRIVATE_REDIS_PORT);
    const rows: { enrollment_id: string; pct: number }[] = await eventually(
      async () => {
        if ((await pending()) !== 0) return undefined;
        const r: { enrollment_id: string; pct: number }[] = await fixture.ds.query(
          `SELECT enrollment_id, (event->'data'->'course_enrollment'->>'progress_percent')::float AS pct
           FROM outbox WHERE seq > $1 ORDER BY seq`,
          [before],
        );
        return r.length >= USERS.length ? r : undefined;
      },
      'the recompute to run after Redis came back',
      60_000,
    );
    expect(Object.fromEntries(rows.map((r) => [r.enrollment_id, r.pct]))).toEqual({ '42:1': 33.33, '42:2': 0, '42:3': 0 });
    expect(await pending()).toBe(0);
  });
});
