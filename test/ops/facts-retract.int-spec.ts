/**
 * Facts from the future, found and retracted by an operator: a fact whose time is year 9999 wins
 * every comparison by time, so honest events after it change nothing. `ops facts --future` lists
 * it, `ops facts retract` removes it and re-derives what it touched, and the honest events it had
 * displaced, sent again, are applied. Real Postgres and Redis, with a jobs worker in-process for
 * the course recompute a structure fact's retraction requests.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Queue } from 'bullmq';
import { APP_CONFIG } from '@app/config';
import type { InputEvent } from '@app/contracts';
import { canonicalTime } from '@app/domain';
import { QUEUES, QueueKey, queueOptions } from '@app/jobs';
import { events, InputMessage } from '@app/workload';
import { JobsWorkerModule } from '../../apps/jobs-worker/src/jobs-worker.module';
import { main } from '../../scripts/ops';
import { eventually } from '../support/eventually';
import { projectionFixture, PublishedEvent } from '../support/projection';

const LOG_LEVEL = process.env.LOG_LEVEL || 'fatal';
const FUTURE = '9999-12-31T23:59:59.000000Z';
const COURSE = 42;
const SECTION = 7;

class Captured {
  text = '';
  isTTY = false;
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

/** Honest times: now, a millisecond apart, so they order as they are made. */
function honestClock(): () => string {
  let t = Date.now() - 60_000;
  return () => new Date(++t).toISOString();
}

describe('ops facts: a fact from the future, listed, retracted, and the honest events applied', () => {
  const at = honestClock();
  let fixture: Awaited<ReturnType<typeof projectionFixture>>;
  let worker: INestApplicationContext;
  let lesson2: InputMessage;

  const ops = async (...argv: string[]): Promise<{ code: number; text: string }> => opsWith({}, ...argv);
  const opsWith = async (env: Record<string, string>, ...argv: string[]): Promise<{ code: number; text: string }> => {
    const out = new Captured();
    const code = await main(argv, out, { config: fixture.config, pollMs: 50, timeoutMs: 60_000, env });
    return { code, text: out.text };
  };
  /**
   * Applied as the projection applies any decoded event, with its time moved ahead (year 9999
   * unless told) past the decoder: the fact is one already stored, however it got in.
   */
  const applyFromTheFuture = async (msg: InputMessage, time = FUTURE) => {
    const [decoded] = fixture.decode([msg]);
    const event: InputEvent = { ...decoded, time, fact: { ...decoded.fact, meta: { ...decoded.fact.meta, time: canonicalTime(time) } } };
    return (await fixture.applier.apply([event])).outcomes;
  };
  const drained = () => eventually(async () => ((await fixture.pendingRecomputes()).length === 0 ? true : undefined), 'the recomputes to drain');
  const state = async (id: string): Promise<PublishedEvent['course_enrollment']> =>
    (await fixture.ds.query(`SELECT state FROM enrollments WHERE id = $1`, [id]))[0].state;
  /** The last published event of a key, after checking its versions run 1..n without a gap. */
  const lastPublished = async (id: string): Promise<PublishedEvent> => {
    const published = await fixture.published(id);
    expect(published.map((e) => e.version)).toEqual(published.map((_, i) => i + 1));
    return published[published.length - 1];
  };

  beforeAll(async () => {
    fixture = await projectionFixture({ JOBS_WORKER_METRICS_PORT: '0', LOG_LEVEL });
    worker = await Test.createTestingModule({ imports: [JobsWorkerModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(fixture.config)
      .compile();
    await worker.init();
    await fixture.apply(
      events.courseUpserted({ id: COURSE, name: 'Onboarding', slug: 'onboarding' }, { time: at(), id: 'course-42' }),
      events.sectionUpserted(COURSE, { id: SECTION, name: 'Basics', position: 1 }, { time: at(), id: 'section-7' }),
      events.lessonUpserted(COURSE, { id: 1, section_id: SECTION, name: 'Lesson 1', status: 'published', position: 1 }, { time: at(), id: 'lesson-1' }),
      (lesson2 = events.lessonUpserted(COURSE, { id: 2, section_id: SECTION, name: 'Lesson 2', status: 'published', position: 2 }, { time: at(), id: 'lesson-2' })),
      ...[1, 2, 3, 4].map((u) => events.userUpserted({ id: u, username: `user${u}` }, { time: at(), id: `user-${u}` })),
      ...[1, 2, 3, 4].map((u) => events.membershipChanged({ course_id: COURSE, user_id: u, join_status: 'joined' }, { time: at(), id: `join-${u}` })),
    );
    await drained();
  });

  afterAll(async () => {
    await worker?.close();
    for (const key of Object.keys(QUEUES) as QueueKey[]) {
      const q = new Queue(QUEUES[key].name, queueOptions(fixture.config));
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    await fixture?.close();
  });

  it('membership: a future "joined" outranks honest changes; retracted, the latest honest one shows, published', async () => {
    await applyFromTheFuture(events.membershipChanged({ course_id: COURSE, user_id: 1, join_status: 'joined' }, { time: at(), id: 'future-join-1' }));
    const left = events.membershipChanged({ course_id: COURSE, user_id: 1, join_status: null }, { time: at(), id: 'left-1' });
    const manager = events.membershipChanged({ course_id: COURSE, user_id: 1, join_status: 'manager' }, { time: at(), id: 'manager-1' });
    expect(await fixture.apply(left, manager)).toEqual(['applied', 'applied']);
    expect((await state('42:1')).remote_data).toMatchObject({ join_status: 'joined' });

    const retracted = await ops('facts', 'retract', '--source', '/community', '--id', 'future-join-1');
    expect(retracted).toEqual({ code: 0, text: expect.stringContaining('retracted lms.membership.changed') });
    expect(retracted.text).toContain('enrollment 42:1, removed from membership_facts');
    expect(retracted.text).toContain('1 enrollment(s) re-derived, 1 change(s) published');
    expect((await state('42:1')).remote_data).toMatchObject({ join_status: 'manager' });
    const last = await lastPublished('42:1');
    expect(last.cause).toMatchObject({ source: '/enrollment-sync/ops', type: 'ops.facts.retract' });
    expect(last.course_enrollment.remote_data).toMatchObject({ join_status: 'manager' });

    // Logs kept the honest facts all along: sent again they are duplicates, and nothing moves.
    expect(await fixture.apply(manager)).toEqual(['duplicate']);
    expect((await state('42:1')).remote_data).toMatchObject({ join_status: 'manager' });
  });

  it('membership: an enrollment that only a future membership made keeps its last state, and the command says so', async () => {
    await applyFromTheFuture(events.membershipChanged({ course_id: COURSE, user_id: 5, join_status: 'joined' }, { time: at(), id: 'future-join-5' }));
    expect((await lastPublished('42:5')).type).toBe('lms.course_enrollment.created');

    const retracted = await ops('facts', 'retract', '--source', '/community', '--id', 'future-join-5');
    expect(retracted.code).toBe(0);
    expect(retracted.text).toContain('0 enrollment(s) re-derived, 0 change(s) published');
    expect(retracted.text).toContain('enrollment 42:5 has no membership fact left: it keeps its last published state until one arrives');
    expect(await fixture.apply(events.membershipChanged({ course_id: COURSE, user_id: 5, join_status: 'invited' }, { time: at(), id: 'invite-5' }))).toEqual(['applied']);
    expect((await state('42:5')).remote_data).toMatchObject({ join_status: 'invited' });
  });

  it('course upsert: a future name stays; retracted and the honest upsert re-sent, the course is named by it, published', async () => {
    await applyFromTheFuture(events.courseUpserted({ id: COURSE, name: 'Frozen', slug: 'frozen' }, { time: at(), id: 'future-course-42' }));
    await drained();
    const honest = events.courseUpserted({ id: COURSE, name: 'Onboarding, revised', slug: 'onboarding' }, { time: at(), id: 'course-42-revised' });
    expect(await fixture.apply(honest)).toEqual(['noop']);
    await drained();
    expect((await state('42:2')).course).toEqual({ id: '42', title: 'Frozen' });

    const listed = await ops('facts', '--future');
    expect(listed.code).toBe(0);
    expect(listed.text).toMatch(/^\/community\s+future-course-42\s+course\s+lms\.course\.upserted\s+9999-12-31T23:59:59\.000000Z\s+course 42$/m);
    expect(listed.text).not.toMatch(/future-join-1/);

    const retracted = await ops('facts', 'retract', '--source', '/community', '--id', 'future-course-42');
    expect(retracted).toEqual({ code: 0, text: expect.stringContaining('retracted lms.course.upserted') });
    expect(retracted.text).toContain('course 42, removed from course_facts and course_snapshots');
    expect(retracted.text).toMatch(/[1-9]\d* superseded event\(s\) forgotten by the inbox/);
    expect(retracted.text).toMatch(/course-recompute\/course-42-g\d+ completed: \{"courseId":42,"done":(\d+),"total":\1,"published":\1,"completed":true\}/);
    expect((await state('42:2')).course).toEqual({ id: '42', title: null });

    expect(await fixture.apply(honest)).toEqual(['applied']);
    await drained();
    for (const u of [1, 2, 3, 4]) {
      expect((await state(`42:${u}`)).course).toEqual({ id: '42', title: 'Onboarding, revised' });
      expect((await lastPublished(`42:${u}`)).course_enrollment.course).toEqual({ id: '42', title: 'Onboarding, revised' });
    }
    expect((await ops('facts', '--future')).text).toMatch(/no stored fact has a time after/);
  });

  it('completion: a future completion dates the enrollment 9999; retracted, the honest completion dates it, published', async () => {
    await applyFromTheFuture(events.lessonCompleted({ course_id: COURSE, lesson_id: 1, user_id: 2 }, { time: at(), id: 'future-done-2-1' }));
    const honestTime = at();
    expect(await fixture.apply(events.lessonCompleted({ course_id: COURSE, lesson_id: 1, user_id: 2 }, { time: honestTime, id: 'done-2-1' }))).toEqual(['applied']);
    expect(await fixture.apply(events.lessonCompleted({ course_id: COURSE, lesson_id: 2, user_id: 2 }, { time: honestTime, id: 'done-2-2' }))).toEqual(['applied']);
    const frozen = await state('42:2');
    expect([frozen.completed_at, frozen.started_at, frozen.last_activity_at]).toEqual([
      '9999-12-31T23:59:59.000Z',
      expect.stringMatching(/^20/),
      '9999-12-31T23:59:59.000Z',
    ]);

    const retracted = await ops('facts', 'retract', '--source', '/community', '--id', 'future-done-2-1');
    expect(retracted).toEqual({ code: 0, text: expect.stringContaining('retracted lms.lesson.completed') });
    expect(retracted.text).toContain('1 enrollment(s) re-derived, 1 change(s) published');
    const honest = { completed_at: honestTime, started_at: honestTime, last_activity_at: honestTime, status: 'completed' };
    expect(await state('42:2')).toMatchObject(honest);
    expect((await lastPublished('42:2')).course_enrollment).toMatchObject(honest);
  });

  it('user upsert: a future name stays; retracted and the honest upsert re-sent, the user is named by it, published', async () => {
    await applyFromTheFuture(events.userUpserted({ id: 3, username: 'mallory' }, { time: at(), id: 'future-user-3' }));
    const honest = events.userUpserted({ id: 3, username: 'carol' }, { time: at(), id: 'user-3-renamed' });
    expect(await fixture.apply(honest)).toEqual(['noop']);
    expect((await state('42:3')).user).toMatchObject({ name: 'mallory' });

    const retracted = await ops('facts', 'retract', '--source', '/community', '--id', 'future-user-3');
    expect(retracted).toEqual({ code: 0, text: expect.stringContaining('retracted lms.user.upserted') });
    expect(retracted.text).toContain('user 3, removed from user_facts');
    expect(retracted.text).toContain('1 enrollment(s) re-derived, 1 change(s) published');

    expect(await fixture.apply(honest)).toEqual(['applied']);
    expect((await state('42:3')).user).toMatchObject({ name: 'carol' });
    expect((await lastPublished('42:3')).course_enrollment.user).toMatchObject({ name: 'carol' });
  });

  it('lesson deletion: a future tombstone hides the lesson; retracted, the upserts before and after it, re-sent, bring it back', async () => {
    await applyFromTheFuture(events.lessonDeleted(COURSE, 2, { time: at(), id: 'future-lesson-2-deleted' }));
    await drained();
    const revised = events.lessonUpserted(
      COURSE,
      { id: 2, section_id: SECTION, name: 'Lesson 2, revised', status: 'published', position: 2 },
      { time: at(), id: 'lesson-2-revised' },
    );
    expect(await fixture.apply(revised)).toEqual(['noop']);
    await drained();
    expect((await state('42:4')).remote_data).toMatchObject({ num_lessons: 1 });

    const retracted = await ops('facts', 'retract', '--source', '/community', '--id', 'future-lesson-2-deleted');
    expect(retracted).toEqual({ code: 0, text: expect.stringContaining('retracted lms.lesson.deleted') });
    expect(retracted.text).toContain('lesson 2 of course 42, removed from lesson_facts');
    expect(retracted.text).toMatch(/course-recompute\/course-42-g\d+ completed: /);

    // The upsert the tombstone replaced was applied before it, and is released as well.
    expect(await fixture.apply(lesson2)).toEqual(['applied']);
    expect(await fixture.apply(revised)).toEqual(['applied']);
    await drained();
    expect((await state('42:4')).remote_data).toMatchObject({ num_lessons: 2 });
    expect((await lastPublished('42:4')).course_enrollment.remote_data).toMatchObject({ num_lessons: 2 });
  });

  it('a retracted event sent again stays a duplicate, and cannot be retracted twice', async () => {
    const replayed = fixture.decode([events.userUpserted({ id: 3, username: 'mallory' }, { time: at(), id: 'future-user-3' })]);
    expect((await fixture.applier.apply(replayed)).outcomes).toEqual(['duplicate']);
    expect((await state('42:3')).user).toMatchObject({ name: 'carol' });

    const again = await ops('facts', 'retract', '--source', '/community', '--id', 'future-user-3');
    expect(again.code).toBe(1);
    expect(again.text).toMatch(/no stored fact of the event with source "\/community" id "future-user-3": its fact was retracted at /);
  });

  it('an event whose fact a newer one superseded has nothing to retract', async () => {
    expect(await fixture.apply(events.userUpserted({ id: 4, username: 'dave' }, { time: at(), id: 'user-4-renamed' }))).toEqual(['applied']);
    const r = await ops('facts', 'retract', '--source', '/community', '--id', 'user-4');
    expect(r).toEqual({ code: 1, text: expect.stringMatching(/id "user-4": it was applied at .*, but a newer fact has superseded it since/) });
    expect((await state('42:4')).user).toMatchObject({ name: 'dave' });
  });

  it('facts --future: ahead of now by more than MAX_FUTURE_SKEW_MS, read from the environment', async () => {
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    expect(
      await applyFromTheFuture(
        events.courseGraded({ course_id: COURSE, user_id: 4, attempt_number: 1, score: 90, passed: true }, { time: at(), id: 'grade-4' }),
        inAnHour,
      ),
    ).toEqual(['applied']);
    expect((await ops('facts', '--future')).text).toMatch(/^\/community\s+grade-4\s+grade\s+lms\.course\.graded\s+\S+\s+enrollment 42:4$/m);
    expect((await opsWith({ MAX_FUTURE_SKEW_MS: '7200000' }, 'facts', '--future')).text).toMatch(
      /no stored fact has a time after .* \(now \+ MAX_FUTURE_SKEW_MS 7200000 ms\)/,
    );
    expect(await opsWith({ MAX_FUTURE_SKEW_MS: 'soon' }, 'facts', '--future')).toEqual({
      code: 1,
      text: expect.stringMatching(/MAX_FUTURE_SKEW_MS must be an integer, got "soon"/),
    });

    const retracted = await ops('facts', 'retract', '--source', '/community', '--id', 'grade-4');
    expect(retracted.text).toContain('retracted lms.course.graded');
    expect(retracted.text).not.toContain('forgotten by the inbox');
    expect((await state('42:4')).score).toBeNull();
  });

  it.each([
    [
      ['facts', 'retract', '--source', '/community', '--id', 'never-sent'],
      1,
      /no stored fact of the event with source "\/community" id "never-sent": no event with that source and id was ever applied/,
    ],
    [['facts', 'retract', '--id', 'x'], 2, /facts retract: give --source <source> and --id <id>/],
    [['facts'], 2, /facts: give --future/],
    [['facts', '--bogus'], 2, /unknown option --bogus/],
  ])('%j → exit %d', async (argv, expected, message) => {
    const r = await ops(...argv);
    expect(r).toEqual({ code: expected, text: expect.stringMatching(message) });
  });
});
