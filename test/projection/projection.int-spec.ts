import { clock, events } from '@app/workload';
import { projectionFixture } from '../support/projection';

describe('projection on a real Postgres', () => {
  let f: Awaited<ReturnType<typeof projectionFixture>>;
  const t = clock('2026-11-01T09:00:00.000Z');
  let n = 0;
  const m = () => ({ time: t(1000), id: `evt-${++n}` });

  beforeAll(async () => {
    f = await projectionFixture({ COURSE_URL_TEMPLATE: 'https://community.example/courses/{slug}' });
    await f.apply(
      events.courseUpserted({ id: 42, name: 'Intro to Kafka', slug: 'intro-kafka' }, m()),
      events.sectionUpserted(42, { id: 5, name: 'Basics', position: 1 }, m()),
      events.lessonUpserted(42, { id: 9, section_id: 5, name: 'Welcome', status: 'published', position: 1 }, m()),
      events.lessonUpserted(42, { id: 10, section_id: 5, name: 'Topics', status: 'published', position: 2 }, m()),
      events.userUpserted({ id: 7, username: 'grace', real_name: 'Grace H.', emails: [{ email: 'g@example.com', type: 'work', is_primary: true }] }, m()),
    );
  });
  afterAll(async () => f.close());

  it('publishes created then updated with gapless versions, and only on material change', async () => {
    const joined = events.membershipChanged({ course_id: 42, user_id: 7, join_status: 'joined' }, m());
    expect(await f.apply(joined)).toEqual(['applied']);
    const completed = events.lessonCompleted({ course_id: 42, lesson_id: 9, user_id: 7, time_spent_seconds: 300 }, m());
    expect(await f.apply(completed, completed)).toEqual(['applied', 'duplicate']);
    expect(await f.apply(completed)).toEqual(['duplicate']);

    const out = await f.published('42:7');
    expect(out.map((e) => [e.type, e.version])).toEqual([
      ['lms.course_enrollment.created', 1],
      ['lms.course_enrollment.updated', 2],
    ]);
    expect(out[0].course_enrollment).toMatchObject({
      status: 'enrolled',
      user: { id: '7', name: 'Grace H.', emails: [{ email: 'g@example.com', type: 'work', is_primary: true }] },
      course: { id: '42', title: 'Intro to Kafka' },
      urls: [{ url: 'https://community.example/courses/intro-kafka', type: 'course' }],
    });
    expect(out[1].course_enrollment).toMatchObject({ status: 'in_progress', progress_percent: 50, time_spent_seconds: 300 });
    expect(out[1].changed_fields).toEqual(expect.arrayContaining(['status', 'progress_percent', 'started_at']));
    expect(out[1].cause).toEqual({ source: '/community', id: completed.value.match(/"id":"([^"]+)"/)![1], type: 'lms.lesson.completed' });
  });

  it('treats an older register fact as a no-op and keeps facts about an enrollment that does not exist yet', async () => {
    const stale = events.courseUpserted({ id: 42, name: 'Old name' }, { time: '2026-01-01T00:00:00Z', id: 'stale-1' });
    expect(await f.apply(stale)).toEqual(['noop']);
    expect(await f.apply(events.lessonCompleted({ course_id: 42, lesson_id: 9, user_id: 8 }, m()))).toEqual(['applied']);
    expect(await f.published('42:8')).toEqual([]);
    await f.apply(events.membershipChanged({ course_id: 42, user_id: 8, join_status: 'joined' }, m()));
    const [created] = await f.published('42:8');
    expect(created.course_enrollment).toMatchObject({ status: 'in_progress', progress_percent: 50 });
  });

  it('fans a structure change out to every enrollment of the course through a recompute request', async () => {
    await f.apply(events.lessonCompleted({ course_id: 42, lesson_id: 10, user_id: 7 }, m()));
    expect((await f.published('42:7')).at(-1)!.course_enrollment.status).toBe('completed');

    const publish = events.lessonUpserted(42, { id: 11, section_id: 5, name: 'New', status: 'published', position: 3 }, m());
    await f.apply(publish);
    expect((await f.published('42:7')).at(-1)!.course_enrollment.status).toBe('completed'); // not inline
    const run = await f.recompute.run(42);
    expect(run).toMatchObject({ completed: true, done: 2, published: 2 });

    const last = (await f.published('42:7')).at(-1)!;
    expect(last.course_enrollment).toMatchObject({ status: 'in_progress', progress_percent: 66.67 });
    expect(last.cause).toMatchObject({ type: 'lms.lesson.upserted' });
    expect(await f.recompute.run(42)).toMatchObject({ completed: false, done: 0 });
  });

  it('publishes an erased user once as deleted, without personal data, and brings it back as created', async () => {
    await f.apply(events.userDeleted(7, m()));
    const deleted = (await f.published('42:7')).at(-1)!;
    expect(deleted.type).toBe('lms.course_enrollment.deleted');
    expect(deleted.course_enrollment.user).toEqual({ id: '7', name: null, emails: [] });
    const [{ profile }] = await f.ds.query(`SELECT profile FROM user_facts WHERE user_id = 7`);
    expect(profile).toBeNull();

    const before = (await f.published('42:7')).length;
    await f.apply(events.lessonUncompleted({ course_id: 42, lesson_id: 9, user_id: 7 }, m()));
    expect(await f.published('42:7')).toHaveLength(before); // a deleted enrollment stays quiet

    await f.apply(events.userUpserted({ id: 7, username: 'grace' }, m()));
    const back = (await f.published('42:7')).at(-1)!;
    expect(back.type).toBe('lms.course_enrollment.created');
    expect(back.version).toBe(before + 1);
    expect(back.course_enrollment.user).toEqual({ id: '7', name: 'grace', emails: [] });
  });

  it('sweeps passed deadlines into overdue, caused by the deadline-sweep job', async () => {
    const soon = new Date(Date.now() + 400).toISOString();
    await f.apply(events.membershipChanged({ course_id: 42, user_id: 9, join_status: 'joined', assignment: { due_at: soon } }, m()));
    expect((await f.published('42:9')).at(-1)!.course_enrollment.status).toBe('enrolled');
    expect(await f.sweep.run(new Date())).toEqual({ swept: 0, published: 0 });

    await new Promise((r) => setTimeout(r, 500));
    const r = await f.sweep.run(new Date());
    expect(r.published).toBe(1);
    const last = (await f.published('42:9')).at(-1)!;
    expect(last.course_enrollment.status).toBe('overdue');
    expect(last.cause).toEqual({ job: 'deadline-sweep' });
    expect(await f.sweep.run(new Date())).toEqual({ swept: 0, published: 0 });
  });

  it('rebuilds every enrollment from facts and publishes nothing when nothing changed', async () => {
    const before = await f.outboxSize();
    const progress: number[] = [];
    const r = await f.rebuild.run((p) => {
      progress.push(p.done);
    });
    expect(r.total).toBe(3);
    expect(r.done).toBe(3);
    expect(progress.at(-1)).toBe(3);
    expect(await f.outboxSize()).toBe(before);
  });
});

describe('recompute requests', () => {
  it('keep a growing generation per course, so a request after a completed run is a new one', async () => {
    const f = await projectionFixture();
    const { RecomputeRequestRepository } = await import('@app/persistence');
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
