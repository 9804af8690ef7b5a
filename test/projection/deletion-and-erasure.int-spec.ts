/**
 * Deleted events and erasure through the real projection (InputApplier, recompute, Postgres):
 * events.md (a `deleted` event carries the last published state) and rules.md "Deletion and
 * erasure" (a deleted user's name leaves other users' enrollments for good, whatever the order).
 */
import { clock, events } from '@app/workload';
import { projectionFixture, PublishedEvent } from '../support/projection';

describe('deleted events and erasure on a real Postgres', () => {
  let f: Awaited<ReturnType<typeof projectionFixture>>;
  const t = clock('2026-11-01T09:00:00.000Z');
  let n = 0;
  const m = () => ({ time: t(1000), id: `evt-${++n}` });
  /** An instant before everything `m()` produces. */
  const early = (minutes: number) => ({ time: new Date(Date.parse('2026-10-01T00:00:00Z') + minutes * 60_000).toISOString(), id: `early-${++n}` });
  const last = async (id: string): Promise<PublishedEvent> => (await f.published(id)).at(-1)!;
  const row = async (id: string) => (await f.ds.query(`SELECT deleted, version, state FROM enrollments WHERE id = $1`, [id]))[0];
  const withoutUpdatedAt = (e: Record<string, unknown>) => {
    const { updated_at: _u, ...rest } = e;
    return rest;
  };
  /**
   * Where a string still sits in the facts naming people, the projection rows and the last event
   * per key. (`user_facts` is left out: a user's own profile follows their latest fact, and a
   * newer upsert legitimately brings it back.)
   */
  const stored = async (needle: string): Promise<string[]> => {
    const like = `%${needle}%`;
    const hits: string[] = [];
    for (const [table, col] of [['membership_facts', 'actor'], ['course_facts', 'course'], ['course_snapshots', 'course'], ['enrollments', 'state']]) {
      const [{ c }] = await f.ds.query(`SELECT count(*)::int AS c FROM ${table} WHERE ${col}::text LIKE $1`, [like]);
      if (c > 0) hits.push(`${table}: ${c}`);
    }
    const [{ c }] = await f.ds.query(
      `SELECT count(*)::int AS c FROM outbox o WHERE o.event::text LIKE $1
         AND o.version = (SELECT max(version) FROM outbox p WHERE p.enrollment_id = o.enrollment_id)`,
      [like],
    );
    if (c > 0) hits.push(`last outbox events: ${c}`);
    return hits;
  };

  beforeAll(async () => {
    f = await projectionFixture({ COURSE_URL_TEMPLATE: 'https://community.example/courses/{slug}' });
  });
  afterAll(async () => f.close());

  describe('a deleted event carries the last published state (events.md)', () => {
    it('course deleted: an enrollment published completed at 100% comes out deleted as completed at 100%, only updated_at new', async () => {
      await f.apply(
        events.courseUpserted({ id: 42, name: 'Intro to Kafka', slug: 'intro-kafka' }, m()),
        events.lessonUpserted(42, { id: 9, section_id: 5, name: 'Welcome', status: 'published', position: 1 }, m()),
        events.userUpserted({ id: 7, username: 'grace', real_name: 'Grace H.' }, m()),
      );
      await f.apply(events.membershipChanged({ course_id: 42, user_id: 7, join_status: 'joined' }, m()));
      await f.apply(events.lessonCompleted({ course_id: 42, lesson_id: 9, user_id: 7 }, m()));
      const before = await last('42:7');
      expect(before.course_enrollment).toMatchObject({ status: 'completed', progress_percent: 100, course: { title: 'Intro to Kafka' } });
      expect(before.course_enrollment.urls).toEqual([{ url: 'https://community.example/courses/intro-kafka', type: 'course' }]);

      await f.apply(events.courseDeleted(42, m()));
      await f.recompute.run(42);
      const deleted = await last('42:7');
      expect(deleted.type).toBe('lms.course_enrollment.deleted');
      expect(deleted.version).toBe(before.version + 1);
      expect(withoutUpdatedAt(deleted.course_enrollment)).toEqual(withoutUpdatedAt(before.course_enrollment));
      expect(Date.parse(deleted.course_enrollment.updated_at as string)).toBeGreaterThan(Date.parse(before.course_enrollment.updated_at as string));
      expect(deleted.changed_fields).toEqual([]);
      expect((await row('42:7')).state).toEqual(deleted.course_enrollment);
    });

    it('user erased: the last published state without any of that user\'s personal data', async () => {
      await f.apply(
        events.courseUpserted({ id: 43, name: 'Erasure 101', slug: 'erasure' }, m()),
        events.lessonUpserted(43, { id: 1, section_id: 1, name: 'One', status: 'published', position: 1 }, m()),
        events.lessonUpserted(43, { id: 2, section_id: 1, name: 'Two', status: 'published', position: 2 }, m()),
        events.userUpserted({ id: 8, username: 'ada_l', real_name: 'Ada Lovelace', emails: [{ email: 'ada@example.com', type: 'work', is_primary: true }] }, m()),
      );
      await f.apply(events.membershipChanged({ course_id: 43, user_id: 8, join_status: 'invited', actor: { id: 8, name: 'Ada Lovelace' } }, m()));
      await f.apply(events.membershipChanged({ course_id: 43, user_id: 8, join_status: 'joined' }, m()));
      await f.apply(events.lessonCompleted({ course_id: 43, lesson_id: 1, user_id: 8, time_spent_seconds: 60 }, m()));
      const before = await last('43:8');
      expect(before.course_enrollment).toMatchObject({ status: 'in_progress', progress_percent: 50, user: { name: 'Ada Lovelace' } });

      await f.apply(events.userDeleted(8, m()));
      const deleted = await last('43:8');
      expect(deleted.type).toBe('lms.course_enrollment.deleted');
      expect(withoutUpdatedAt(deleted.course_enrollment)).toEqual({
        ...withoutUpdatedAt(before.course_enrollment),
        user: { id: '8', name: null, emails: [] },
        assigned_by: { id: '8', name: null },
      });
      expect(deleted.changed_fields).toEqual(['user', 'assigned_by']);
      expect(await stored('Lovelace')).toEqual([]);
      expect(await stored('ada@example.com')).toEqual([]);
      expect(await f.ds.query(`SELECT profile FROM user_facts WHERE user_id = 8`)).toEqual([{ profile: null }]);
    });
  });

  describe('erasure reaches a name in other users\' enrollments, whatever the order (rules.md)', () => {
    const invite = (courseId: number, actor: number, o = m()) =>
      events.membershipChanged({ course_id: courseId, user_id: 7, join_status: 'invited', actor: { id: actor, name: 'Zelda Uniquename' } }, o);

    it('invitation, then the inviter is deleted: republished with the name null, facts and row scrubbed', async () => {
      await f.apply(events.courseUpserted({ id: 63, name: 'Course 63' }, m()), events.userUpserted({ id: 903, username: 'zelda', real_name: 'Zelda Uniquename' }, m()));
      await f.apply(invite(63, 903));
      expect((await last('63:7')).course_enrollment.assigned_by).toEqual({ id: '903', name: 'Zelda Uniquename' });

      await f.apply(events.userDeleted(903, m()));
      const after = await last('63:7');
      expect(after).toMatchObject({ type: 'lms.course_enrollment.updated', changed_fields: ['assigned_by'] });
      expect(after.course_enrollment.assigned_by).toEqual({ id: '903', name: null });
      expect(after.cause).toMatchObject({ type: 'lms.user.deleted' });
      expect((await row('63:7')).state.assigned_by).toEqual({ id: '903', name: null });
      expect(await stored('Uniquename')).toEqual([]);
      expect(await f.ds.query(`SELECT profile FROM user_facts WHERE user_id = 903`)).toEqual([{ profile: null }]);
    });

    it('the deletion first, then the invitation: the name is null from the start', async () => {
      await f.apply(events.courseUpserted({ id: 64, name: 'Course 64' }, m()), events.userDeleted(904, m()));
      await f.apply(invite(64, 904));
      expect((await last('64:7')).course_enrollment.assigned_by).toEqual({ id: '904', name: null });
      expect(await stored('Uniquename')).toEqual([]);
    });

    it('deleted, upserted again, then an older invitation arrives: the name stays null', async () => {
      await f.apply(events.courseUpserted({ id: 65, name: 'Course 65' }, m()));
      await f.apply(events.userDeleted(905, early(2)));
      await f.apply(events.userUpserted({ id: 905, username: 'zelda', real_name: 'Zelda Uniquename' }, early(3)));
      await f.apply(invite(65, 905, early(1)));
      expect((await last('65:7')).course_enrollment.assigned_by).toEqual({ id: '905', name: null });
      expect(await stored('Zelda Uniquename')).toEqual([]);
    });

    it('a deletion older than the user\'s latest upsert still erases the name elsewhere (applied, not a no-op)', async () => {
      await f.apply(events.courseUpserted({ id: 66, name: 'Course 66' }, m()), events.userUpserted({ id: 906, username: 'zelda', real_name: 'Zelda Uniquename' }, m()));
      await f.apply(invite(66, 906));
      expect(await f.apply(events.userDeleted(906, early(1)))).toEqual(['applied']);
      expect((await last('66:7')).course_enrollment.assigned_by).toEqual({ id: '906', name: null });
      expect(await stored('Uniquename')).toEqual([]);
    });

    it('an enrollment already published as deleted: its deleted state is republished without the name', async () => {
      await f.apply(events.courseUpserted({ id: 67, name: 'Course 67' }, m()));
      await f.apply(invite(67, 907));
      await f.apply(events.courseDeleted(67, m()));
      await f.recompute.run(67);
      const deleted = await last('67:7');
      expect(deleted.type).toBe('lms.course_enrollment.deleted');
      expect(deleted.course_enrollment.assigned_by).toEqual({ id: '907', name: 'Zelda Uniquename' });

      await f.apply(events.userDeleted(907, m()));
      const again = await last('67:7');
      expect(again).toMatchObject({ type: 'lms.course_enrollment.deleted', version: deleted.version + 1, changed_fields: ['assigned_by'] });
      expect(withoutUpdatedAt(again.course_enrollment)).toEqual({ ...withoutUpdatedAt(deleted.course_enrollment), assigned_by: { id: '907', name: null } });
      expect(await stored('Uniquename')).toEqual([]);
    });
  });
});
