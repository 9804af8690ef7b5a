import { RecomputeRequestRepository } from '@app/persistence';
import { clock, events } from '@app/workload';
import { projectionFixture } from '../support/projection';
import { check, enrollmentRow, exactly, nothingPublished, projectionSpec, published, publishedByWhen, returned, run } from '../support/projection-spec';

describe('projection on a real Postgres', () => {
  const spec = projectionSpec({ COURSE_URL_TEMPLATE: 'https://community.example/courses/{slug}' });
  const t = clock('2026-11-01T09:00:00.000Z');
  let n = 0;
  const m = () => ({ time: t(1000), id: `evt-${++n}` });

  /** Course 42 "Intro to Kafka": one section, lessons 9 and 10 published; user 7 is Grace H. */
  const course42 = () => [
    events.courseUpserted({ id: 42, name: 'Intro to Kafka', slug: 'intro-kafka' }, m()),
    events.sectionUpserted(42, { id: 5, name: 'Basics', position: 1 }, m()),
    events.lessonUpserted(42, { id: 9, section_id: 5, name: 'Welcome', status: 'published', position: 1 }, m()),
    events.lessonUpserted(42, { id: 10, section_id: 5, name: 'Topics', status: 'published', position: 2 }, m()),
    events.userUpserted({ id: 7, username: 'grace', real_name: 'Grace H.', emails: [{ email: 'g@example.com', type: 'work', is_primary: true }] }, m()),
  ];
  const join = (userId: number, assignment?: { due_at: string }) =>
    events.membershipChanged({ course_id: 42, user_id: userId, join_status: 'joined', ...(assignment ? { assignment } : {}) }, m());
  const complete = (userId: number, lessonId: number, extra: { time_spent_seconds?: number } = {}) =>
    events.lessonCompleted({ course_id: 42, lesson_id: lessonId, user_id: userId, ...extra }, m());
  const idOf = (message: { value: string }) => message.value.match(/"id":"([^"]+)"/)![1];

  it('publishes created then updated with gapless versions, and only on material change', async () => {
    const completed = complete(7, 9, { time_spent_seconds: 300 });
    await spec
      .given(course42())
      .when(join(7), [completed, completed], completed)
      .then(
        returned(['applied'], ['applied', 'duplicate'], ['duplicate']),
        published('42:7', [
          {
            type: 'lms.course_enrollment.created',
            version: 1,
            course_enrollment: {
              status: 'enrolled',
              user: { id: '7', name: 'Grace H.', emails: [{ email: 'g@example.com', type: 'work', is_primary: true }] },
              course: { id: '42', title: 'Intro to Kafka' },
              urls: [{ url: 'https://community.example/courses/intro-kafka', type: 'course' }],
            },
          },
          {
            type: 'lms.course_enrollment.updated',
            version: 2,
            course_enrollment: { status: 'in_progress', progress_percent: 50, time_spent_seconds: 300 },
            changed_fields: expect.arrayContaining(['status', 'progress_percent', 'started_at']),
            cause: exactly({ source: '/community', id: idOf(completed), type: 'lms.lesson.completed' }),
          },
        ]),
      );
  });

  it('treats an older register fact as a no-op', async () => {
    await spec
      .given(course42())
      .when(events.courseUpserted({ id: 42, name: 'Old name' }, { time: '2026-01-01T00:00:00Z', id: 'stale-1' }))
      .then(returned(['noop']), nothingPublished());
  });

  it('keeps a fact about an enrollment that does not exist yet, publishing nothing', async () => {
    await spec
      .given(course42())
      .when(complete(8, 9))
      .then(returned(['applied']), published('42:8', []));
  });

  it('derives a new enrollment from the facts that arrived before it', async () => {
    await spec
      .given(course42(), complete(8, 9))
      .when(join(8))
      .then(published('42:8', [{ type: 'lms.course_enrollment.created', course_enrollment: { status: 'in_progress', progress_percent: 50 } }]));
  });

  describe('a structure change fans out to every enrollment of the course through a recompute request', () => {
    const learners = () => [join(7), join(8), complete(7, 9), complete(7, 10), complete(8, 9)];
    const lesson11 = () => events.lessonUpserted(42, { id: 11, section_id: 5, name: 'New', status: 'published', position: 3 }, m());

    it('the change is stored as a request, not applied inline', async () => {
      await spec
        .given(course42(), ...learners())
        .when(lesson11())
        .then(
          returned(['applied']),
          nothingPublished(),
          published('42:7', [{}, {}, { course_enrollment: { status: 'completed' } }]),
          check(async (r) => expect(await new RecomputeRequestRepository().find(r.ds, 42)).toBeDefined()),
        );
    });

    it('the recompute re-derives each enrollment, caused by the change, and then has nothing left', async () => {
      await spec
        .given(course42(), ...learners(), lesson11())
        .when(
          run((ctx) => ctx.recompute.run(42)),
          run((ctx) => ctx.recompute.run(42)),
        )
        .then(
          returned({ completed: true, done: 2, published: 2 }, { completed: false, done: 0 }),
          publishedByWhen('42:7', [{ course_enrollment: { status: 'in_progress', progress_percent: 66.67 }, cause: { type: 'lms.lesson.upserted' } }]),
        );
    });
  });

  describe('an erased user', () => {
    const enrolled = () => [course42(), join(7), complete(7, 9)];

    it('is published once as deleted, without personal data, and the profile is gone', async () => {
      await spec
        .given(...enrolled())
        .when(events.userDeleted(7, m()))
        .then(
          publishedByWhen('42:7', [{ type: 'lms.course_enrollment.deleted', version: 3, course_enrollment: { user: exactly({ id: '7', name: null, emails: [] }) } }]),
          check(async (r) => expect(await r.ds.query(`SELECT profile FROM user_facts WHERE user_id = 7`)).toEqual([{ profile: null }])),
        );
    });

    it('stays quiet while deleted', async () => {
      await spec
        .given(...enrolled(), events.userDeleted(7, m()))
        .when(events.lessonUncompleted({ course_id: 42, lesson_id: 9, user_id: 7 }, m()))
        .then(returned(['applied']), nothingPublished('42:7'));
    });

    it('comes back as created with the next version when the user is upserted again', async () => {
      await spec
        .given(...enrolled(), events.userDeleted(7, m()), events.lessonUncompleted({ course_id: 42, lesson_id: 9, user_id: 7 }, m()))
        .when(events.userUpserted({ id: 7, username: 'grace' }, m()))
        .then(
          publishedByWhen('42:7', [{ type: 'lms.course_enrollment.created', version: 4, course_enrollment: { user: exactly({ id: '7', name: 'grace', emails: [] }) } }]),
          enrollmentRow('42:7', { deleted: false, version: 4 }),
        );
    });
  });

  it('sweeps passed deadlines into overdue, caused by the deadline-sweep job', async () => {
    // The sweep is given its "now", so the deadline passes without waiting for it.
    const due = new Date(Date.now() + 3_600_000);
    const at = (ms: number) => new Date(due.getTime() + ms);
    await spec
      .given(course42(), join(9, { due_at: due.toISOString() }))
      .when(
        run((ctx) => ctx.sweep.run(at(-60_000))),
        run((ctx) => ctx.sweep.run(at(1000))),
        run((ctx) => ctx.sweep.run(at(2000))),
      )
      .then(
        returned(exactly({ swept: 0, published: 0 }), { published: 1 }, exactly({ swept: 0, published: 0 })),
        published('42:9', [{ course_enrollment: { status: 'enrolled' } }, { course_enrollment: { status: 'overdue' }, cause: exactly({ job: 'deadline-sweep' }) }]),
      );
  });

  it('rebuilds every enrollment from facts and publishes nothing when nothing changed', async () => {
    await spec
      .given(course42(), join(7), join(8), join(9), complete(7, 9))
      .when(
        run(async (ctx) => {
          const progress: number[] = [];
          const r = await ctx.rebuild.run((p) => {
            progress.push(p.done);
          });
          return { ...r, lastProgress: progress.at(-1) };
        }),
      )
      .then(returned({ total: 3, done: 3, lastProgress: 3 }), nothingPublished());
  });
});

describe('recompute requests', () => {
  it('keep a growing generation per course, so a request after a completed run is a new one', async () => {
    const f = await projectionFixture();
    const requests = new RecomputeRequestRepository();
    const meta = { time: '2026-11-01T09:00:00.000000Z', source: '/t', id: 'a', type: 'lms.lesson.upserted' };
    try {
      await requests.request(f.ds, new Map([[1, meta]]));
      expect(await requests.find(f.ds, 1)).toMatchObject({ generation: 1 });
      await requests.request(f.ds, new Map([[1, meta]])); // arrives mid-run
      expect(await requests.complete(f.ds, 1, 1)).toBe(false);
      expect(await requests.pending(f.ds)).toMatchObject([{ courseId: 1, generation: 2 }]);
      expect(await requests.complete(f.ds, 1, 2)).toBe(true);
      expect(await requests.find(f.ds, 1)).toBeUndefined();
      await requests.request(f.ds, new Map([[1, meta]]));
      expect(await requests.find(f.ds, 1)).toMatchObject({ generation: 3 });
    } finally {
      await f.close();
    }
  });
});
