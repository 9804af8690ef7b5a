/**
 * End to end on the real Kafka and Postgres: input topics → sync worker → projection → outbox →
 * output topic, checked against the reference fold (`foldFacts`) of everything produced.
 *
 * Course-wide recomputes (structure changes) are run by the jobs worker, booted in-process beside
 * the sync worker (E2E_RECOMPUTE=inline: by the harness with the library's CourseRecompute).
 * The kill -9 drill runs the built sync worker (dist/) as a child; `npm test` builds first, and
 * the drill fails (never skips) when the build is missing.
 */
import { clock, events, InputMessage, syntheticWorkload } from '@app/workload';
import { Pipeline, RawInput, startPipeline } from '../support/pipeline';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const lastOf = (p: Pipeline, id: string) => {
  const list = p.outputs.get(id) ?? [];
  return list[list.length - 1]?.event;
};

describe('sync worker pipeline (in-process worker)', () => {
  let p: Pipeline;

  beforeAll(async () => {
    p = await startPipeline();
  }, 60_000);
  afterAll(async () => p?.stop(), 60_000);

  it('reaches every status through events, with created then updated, gapless versions and the oracle state', async () => {
    // Given a course with two published lessons in one section, and ten learners
    const C = 1001;
    const tick = clock('2026-11-01T09:00:00.000Z');
    let n = 0;
    const o = (advance = 1000) => ({ time: tick(advance), id: `st-${++n}`, source: '/e2e-status' });
    const past = '2020-01-01T00:00:00Z';
    const learners = {
      withdrawn: 501,
      unknown: 502,
      assigned: 503,
      passed: 504,
      failed: 505,
      completed: 506,
      expired: 507,
      overdue: 508,
      in_progress: 509,
      enrolled: 510,
    } as const;
    const msgs: InputMessage[] = [
      events.courseUpserted({ id: C, name: 'Kafka for Humans', slug: 'kafka-for-humans', privacy: 'open' }, o()),
      events.sectionUpserted(C, { id: 11, name: 'Basics', position: 1 }, o()),
      events.lessonUpserted(C, { id: 111, section_id: 11, name: 'Topics', status: 'published', position: 1 }, o()),
      events.lessonUpserted(C, { id: 112, section_id: 11, name: 'Quiz', status: 'published', position: 2, type: 'quiz' }, o()),
      ...Object.values(learners).map((u) =>
        events.userUpserted({ id: u, username: `learner${u}`, real_name: `Learner ${u}`, emails: [{ email: `l${u}@example.com`, type: 'work', is_primary: true }] }, o()),
      ),
    ];
    const join = (u: number, extra: Partial<Parameters<typeof events.membershipChanged>[0]> = {}) =>
      events.membershipChanged({ course_id: C, user_id: u, join_status: 'joined', ...extra }, o());
    msgs.push(
      join(learners.withdrawn),
      events.membershipChanged({ course_id: C, user_id: learners.withdrawn, join_status: null }, o()),
      events.membershipChanged({ course_id: C, user_id: learners.unknown, join_status: 'requested' }, o()),
      events.membershipChanged({ course_id: C, user_id: learners.assigned, join_status: 'invited', actor: { id: 3, name: 'Ada Admin' } }, o()),
      join(learners.passed),
      events.courseGraded({ course_id: C, user_id: learners.passed, attempt_number: 1, score: 91.5, passed: true }, o()),
      join(learners.failed),
      events.courseGraded({ course_id: C, user_id: learners.failed, attempt_number: 1, score: 90, passed: true }, o()),
      events.courseGraded({ course_id: C, user_id: learners.failed, attempt_number: 2, score: 12.5, passed: false }, o()),
      join(learners.completed),
      events.lessonCompleted({ course_id: C, lesson_id: 111, user_id: learners.completed, time_spent_seconds: 300 }, o()),
      events.lessonCompleted({ course_id: C, lesson_id: 112, user_id: learners.completed, time_spent_seconds: 120 }, o()),
      join(learners.expired, { assignment: { access_expires_at: past, due_at: null } }),
      join(learners.overdue, { assignment: { due_at: past, is_mandatory: true } }),
      join(learners.in_progress),
      events.lessonCompleted({ course_id: C, lesson_id: 111, user_id: learners.in_progress, time_spent_seconds: 60 }, o()),
      join(learners.enrolled, { custom_fields: { cost_center: 'R&D' } }),
    );

    // When they are produced in order
    await p.produce(msgs);
    await p.waitQuiet();

    // Then each enrollment's last published status is the one it was built for
    for (const [status, user] of Object.entries(learners)) {
      const last = lastOf(p, `${C}:${user}`);
      expect({ user, status: last?.data.course_enrollment.status }).toEqual({ user, status });
    }
    for (const user of Object.values(learners)) {
      const list = p.outputs.get(`${C}:${user}`)!;
      expect(list[0].event.type).toBe('lms.course_enrollment.created');
      expect(list[0].event.data.version).toBe(1);
      for (const later of list.slice(1)) expect(later.event.type).toBe('lms.course_enrollment.updated');
    }
    const completed = lastOf(p, `${C}:${learners.completed}`).data.course_enrollment;
    expect(completed).toMatchObject({ progress_percent: 100, time_spent_seconds: 420, user: { name: `Learner ${learners.completed}` } });
    expect(lastOf(p, `${C}:${learners.in_progress}`).data.course_enrollment.progress_percent).toBe(50);
    expect(lastOf(p, `${C}:${learners.assigned}`).data.course_enrollment.assigned_by).toEqual({ id: '3', name: 'Ada Admin' });
    expect(lastOf(p, `${C}:${learners.failed}`).data.course_enrollment).toMatchObject({ score: 12.5, attempt_number: 2, attempts_count: 2 });
    expect(p.versionsGapless()).toEqual([]);
    expect(await p.oracle()).toEqual([]);
  });

  it('converges to the oracle state from a shuffled, duplicated log with random keys; duplicates publish nothing', async () => {
    // Given a realistic log on courses 1..3 (structure changes mixed in with memberships)
    const log = [...syntheticWorkload({ events: 800, courses: 3, users: 25, seed: 11, source: '/e2e-shuffle' })];

    // When it is produced shuffled, every message twice, keys spread over all partitions
    await p.produce(log, { shuffle: true, duplicate: 1, randomKeys: true, seed: 5 });
    await p.waitQuiet();

    // Then the last published state per key is the oracle's, versions gapless
    expect(await p.oracle()).toEqual([]);
    expect(p.versionsGapless()).toEqual([]);
    const keys = [...p.outputs.keys()].filter((k) => /^[123]:/.test(k));
    expect(keys.length).toBeGreaterThan(20);
    expect(p.resentOutputs()).toBe(0); // no crash here: not even at-least-once re-sends

    // And the same log once more publishes nothing at all
    const before = [...p.outputs.values()].reduce((s, l) => s + l.length, 0);
    await p.produce(log, { shuffle: true, seed: 9 });
    await p.waitQuiet();
    expect([...p.outputs.values()].reduce((s, l) => s + l.length, 0)).toBe(before);
    expect(await p.oracle()).toEqual([]);
  });

  it('dead-letters each poison message once, unchanged with its reason and origin, and applies the good ones', async () => {
    const C = 4001;
    const tick = clock('2026-11-05T09:00:00.000Z');
    let n = 0;
    const o = () => ({ time: tick(1000), id: `good-${++n}`, source: '/e2e-poison' });
    const envelope = (type: string, data: object) => JSON.stringify({ specversion: '1.0', id: `poison-${type}-${++n}`, source: '/e2e-poison', type, time: tick(), data });
    const oversize = Buffer.alloc(1024 * 1024 + 1, 0x20);
    oversize.write('{"x":"');
    const poison: (RawInput & { reason: RegExp })[] = [
      { topic: 'courses', key: 'poison-1', value: 'not json {', headers: { 'x-trace': 'abc-1' }, reason: /JSON/ },
      { topic: 'memberships', key: 'poison-2', value: JSON.stringify({ hello: 'world' }), reason: /specversion/ },
      { topic: 'courses', key: 'poison-3', value: envelope('lms.course.archived', { course_id: C }), reason: /type "lms\.course\.archived"/ },
      {
        topic: 'courses',
        key: 'poison-4',
        value: envelope('lms.lesson.upserted', { course_id: C, lesson: { id: 3, section_id: 1, name: 'X', status: 'live', position: 1 } }),
        reason: /data\.lesson\.status/,
      },
      { topic: 'users', key: 'poison-5', value: oversize, reason: /1 MiB/ },
    ];
    const good: InputMessage[] = [
      events.courseUpserted({ id: C, name: 'Poison-proof' }, o()),
      events.lessonUpserted(C, { id: 1, section_id: 1, name: 'L1', status: 'published', position: 1 }, o()),
      events.membershipChanged({ course_id: C, user_id: 1, join_status: 'joined' }, o()),
      events.lessonCompleted({ course_id: C, lesson_id: 1, user_id: 1 }, o()),
      events.membershipChanged({ course_id: C, user_id: 2, join_status: 'joined' }, o()),
    ];
    const dlqBefore = p.deadLetters.length;

    // When poison is interleaved with good messages
    await p.produce([good[0], poison[0], good[1], poison[1], good[2], poison[2], poison[3], good[3], poison[4], good[4]]);
    await p.waitQuiet();

    // Then each poison message is in the DLQ exactly once, unchanged, with reason and origin
    const letters = p.deadLetters.slice(dlqBefore);
    expect(letters).toHaveLength(poison.length);
    for (const m of poison) {
      const copies = letters.filter((l) => l.key?.toString() === m.key);
      expect(copies).toHaveLength(1);
      const [l] = copies;
      expect(Buffer.compare(l.value!, Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value!))).toBe(0);
      expect(l.headers.dlq_reason).toMatch(m.reason);
      expect(l.headers.dlq_topic).toBe(p.topicName(m.topic));
      expect(l.headers.dlq_partition).toMatch(/^\d+$/);
      expect(l.headers.dlq_offset).toMatch(/^\d+$/);
      for (const [k, v] of Object.entries(m.headers ?? {})) expect(l.headers[k]).toBe(String(v));
    }
    // And the good ones are applied
    expect(lastOf(p, `${C}:1`)?.data.course_enrollment).toMatchObject({ status: 'completed', progress_percent: 100 });
    expect(lastOf(p, `${C}:2`)?.data.course_enrollment.status).toBe('enrolled');
    expect(await p.oracle()).toEqual([]);
    expect(await p.accounting()).toEqual([]);
  });

  it('erases a deleted user: each enrollment published once as deleted, without personal data', async () => {
    const U = 901;
    const tick = clock('2026-11-06T09:00:00.000Z');
    let n = 0;
    const o = () => ({ time: tick(1000), id: `erase-${++n}`, source: '/e2e-erasure' });
    await p.produce([
      events.courseUpserted({ id: 3001, name: 'Course A' }, o()),
      events.courseUpserted({ id: 3002, name: 'Course B' }, o()),
      events.lessonUpserted(3001, { id: 1, section_id: 1, name: 'L', status: 'published', position: 1 }, o()),
      events.userUpserted(
        { id: U, username: 'grace', real_name: 'Grace H.', avatar: 'https://x/a.png', emails: [{ email: 'g@example.com', type: 'work', is_primary: true }] },
        o(),
      ),
      events.membershipChanged({ course_id: 3001, user_id: U, join_status: 'joined' }, o()),
      events.membershipChanged({ course_id: 3002, user_id: U, join_status: 'invited' }, o()),
      events.lessonCompleted({ course_id: 3001, lesson_id: 1, user_id: U }, o()),
    ]);
    await p.waitQuiet();
    expect(lastOf(p, `3001:${U}`)?.data.course_enrollment.user).toEqual({
      id: String(U),
      name: 'Grace H.',
      emails: [{ email: 'g@example.com', type: 'work', is_primary: true }],
    });

    // When the user is erased
    await p.produce([events.userDeleted(U, o())]);
    await p.waitQuiet();

    // Then each of the user's enrollments is published once as deleted, with nothing personal
    for (const id of [`3001:${U}`, `3002:${U}`]) {
      const list = p.outputs.get(id)!;
      expect(list.filter((e) => e.event.type === 'lms.course_enrollment.deleted')).toHaveLength(1);
      const last = list[list.length - 1].event;
      expect(last.type).toBe('lms.course_enrollment.deleted');
      expect(last.data.course_enrollment.user).toEqual({ id: String(U), name: null, emails: [] });
      expect(JSON.stringify(last)).not.toMatch(/grace|Grace|g@example\.com|a\.png/);
    }
    const [profile] = await p.ds.query(`SELECT profile, deleted FROM user_facts WHERE user_id = $1`, [U]);
    expect(profile).toEqual({ profile: null, deleted: true });
    const rows = await p.ds.query(`SELECT deleted, state::text AS state FROM enrollments WHERE user_id = $1`, [U]);
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.deleted).toBe(true);
      expect(r.state).not.toMatch(/grace|Grace|g@example\.com|a\.png/);
    }
    expect(p.versionsGapless()).toEqual([]);
    expect(await p.oracle()).toEqual([]);
  });
});

describe('sync worker pipeline (worker as a child process, kill -9)', () => {
  let p: Pipeline;

  beforeAll(async () => {
    p = await startPipeline({ startWorker: false });
  }, 60_000);
  afterAll(async () => p?.stop(), 60_000);

  it('survives two kill -9 mid-stream: oracle state, gapless versions, every input accounted for', async () => {
    const log = [...syntheticWorkload({ events: 3000, courses: 5, users: 50, seed: 7 })];
    const total = log.length;
    const waitCommitted = async (atLeast: number, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lag = await p.inputLag().catch(() => ({ committed: -1 })); // transient broker errors: ask again
        if (lag.committed >= atLeast) return lag.committed;
        if (Date.now() > deadline) throw new Error(`only ${lag.committed}/${atLeast} committed after ${timeoutMs} ms\n${p.workerLog.slice(-15).join('\n')}`);
        await sleep(25);
      }
    };

    // Given a worker running as its own process, and the log being produced in slices
    p.spawnWorker();
    const producing = (async () => {
      for (let i = 0; i < total; i += 150) {
        await p.produce(log.slice(i, i + 150));
        await sleep(100);
      }
    })();

    // When it is killed -9 after about a third, restarted, killed again after two thirds, restarted
    const t0 = Date.now();
    const first = await waitCommitted(1);
    const firstAt = Date.now();
    const atKill1 = await waitCommitted(Math.floor(total / 3));
    const rate = ((atKill1 - first) / ((Date.now() - firstAt) / 1000)).toFixed(0);
    await p.killWorker('SIGKILL');
    p.spawnWorker();
    const atKill2 = await waitCommitted(Math.floor((2 * total) / 3), 90_000);
    await p.killWorker('SIGKILL');
    p.spawnWorker();
    await producing;
    await p.waitQuiet({ timeoutMs: 90_000 });
    console.log(
      `crash drill: ${total} events; killed at ${atKill1} and ${atKill2} committed; ` +
        `~${rate} events/s before the first kill; quiet after ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
        `${[...p.outputs.values()].reduce((s, l) => s + l.length, 0)} output events over ${p.outputs.size} keys, ${p.resentOutputs()} re-sent`,
    );

    // Then the state is the oracle's, versions are gapless, every input is accounted for
    expect(await p.oracle()).toEqual([]);
    expect(p.versionsGapless()).toEqual([]);
    expect(await p.accounting()).toEqual([]);
  }, 200_000);
});
