/**
 * Upstream systems re-send courses, lessons and profiles unchanged (a nightly full sync, a
 * retried export). Such a fact is the newest, so it is stored and applied, but nothing derived
 * from it changes: it requests no course-wide recompute and re-derives none of the user's
 * enrollments (nor takes their locks). A fact that changes the content does both.
 */
import { clock, events } from '@app/workload';
import { check, nothingPublished, projectionSpec, publishedByWhen, returned, run } from '../support/projection-spec';

describe('re-sent registers with unchanged content', () => {
  const spec = projectionSpec();
  const t = clock('2026-11-03T09:00:00.000Z');
  let n = 0;
  const m = () => ({ time: t(1000), id: `same-${++n}` });

  const lesson = (status: 'published' | 'draft', name = 'Welcome') => events.lessonUpserted(42, { id: 9, section_id: 5, name, status, position: 1 }, m());
  const profile = (realName: string) => events.userUpserted({ id: 7, username: 'grace', real_name: realName, emails: [] }, m());
  const course42 = () => [
    events.courseUpserted({ id: 42, name: 'Intro to Kafka', slug: 'intro-kafka' }, m()),
    events.sectionUpserted(42, { id: 5, name: 'Basics', position: 1 }, m()),
    lesson('published'),
    profile('Grace H.'),
    events.membershipChanged({ course_id: 42, user_id: 7, join_status: 'joined' }, m()),
    // The recomputes the structure requested, as the jobs worker runs them.
    run(async (ctx) => {
      for (const r of await ctx.pendingRecomputes()) await ctx.recompute.run(r.courseId);
    }),
  ];
  const pendingCourses = (ids: number[]) =>
    check(async (r) => {
      const rows: { course_id: string }[] = await r.ds.query(`SELECT course_id FROM recompute_requests WHERE generation > completed_generation`);
      expect(rows.map((x) => Number(x.course_id))).toEqual(ids);
    });

  it('applies a lesson re-sent unchanged without requesting a recompute', async () => {
    await spec
      .given(...course42())
      .when(lesson('published'), events.sectionUpserted(42, { id: 5, name: 'Basics', position: 1 }, m()))
      .then(returned(['applied'], ['applied']), pendingCourses([]), nothingPublished());
  });

  it('requests a recompute when the lesson re-sent differs', async () => {
    await spec
      .given(...course42())
      .when(lesson('published', 'Welcome!'))
      .then(returned(['applied']), pendingCourses([42]));
  });

  it('compares with the content stored last, whichever fact brought it', async () => {
    // draft then published again: each write changed the row, though the last equals the first.
    await spec
      .given(...course42())
      .when(
        lesson('draft'),
        run((ctx) => ctx.recompute.run(42)),
        lesson('published'),
      )
      .then(returned(['applied'], { completed: true }, ['applied']), pendingCourses([42]));
  });

  it("re-derives a user's enrollments only when the profile's content changed", async () => {
    await spec
      .given(...course42())
      .when(profile('Grace H.'), profile('Grace Hopper'))
      .then(
        returned(['applied'], ['applied']),
        publishedByWhen('42:7', [{ type: 'lms.course_enrollment.updated', changed_fields: ['user'], course_enrollment: { user: { name: 'Grace Hopper' } } }]),
      );
  });
});
