/**
 * Deleted events and erasure through the real projection (InputApplier, recompute, Postgres):
 * events.md (a `deleted` event carries the last published state) and rules.md "Deletion and
 * erasure" (a deleted user's name leaves other users' enrollments for good, whatever the order).
 */
import { clock, events } from '@app/workload';
import { check, enrollmentRow, Expectation, exactly, projectionSpec, published, publishedByWhen, returned, run } from '../support/projection-spec';

describe('deleted events and erasure on a real Postgres', () => {
  const spec = projectionSpec({ COURSE_URL_TEMPLATE: 'https://community.example/courses/{slug}' });
  const t = clock('2026-11-01T09:00:00.000Z');
  let n = 0;
  const m = () => ({ time: t(1000), id: `evt-${++n}` });
  /** An instant before everything `m()` produces. */
  const early = (minutes: number) => ({ time: new Date(Date.parse('2026-10-01T00:00:00Z') + minutes * 60_000).toISOString(), id: `early-${++n}` });
  const withoutUpdatedAt = (e: Record<string, unknown>) => {
    const { updated_at: _u, ...rest } = e;
    return rest;
  };

  /**
   * The key's last event carries the state of the one before it, with `changes` applied and
   * only `updated_at` new (`laterUpdatedAt`: and later).
   */
  const carriesPreviousState =
    (id: string, changes: Record<string, unknown> = {}, laterUpdatedAt = false): Expectation =>
    async (r) => {
      const [before, last] = (await r.published(id)).slice(-2);
      expect(withoutUpdatedAt(last.course_enrollment)).toEqual({ ...withoutUpdatedAt(before.course_enrollment), ...changes });
      if (laterUpdatedAt) {
        expect(Date.parse(last.course_enrollment.updated_at as string)).toBeGreaterThan(Date.parse(before.course_enrollment.updated_at as string));
      }
    };

  /** The key's row in `enrollments` holds the state its last event published. */
  const rowIsLastPublished =
    (id: string): Expectation =>
    async (r) => {
      const last = (await r.published(id)).at(-1)!;
      await enrollmentRow(id, { state: exactly(last.course_enrollment) })(r);
    };

  /**
   * The string is nowhere in the facts naming people, the projection rows and the last event per
   * key. (`user_facts` is left out: a user's own profile follows their latest fact, and a newer
   * upsert legitimately brings it back.)
   */
  const nowhereStored =
    (needle: string): Expectation =>
    async (r) => {
      const like = `%${needle}%`;
      const hits: string[] = [];
      for (const [table, col] of [
        ['membership_facts', 'actor'],
        ['course_facts', 'course'],
        ['course_snapshots', 'course'],
        ['enrollments', 'state'],
      ]) {
        const [{ c }] = await r.ds.query(`SELECT count(*)::int AS c FROM ${table} WHERE ${col}::text LIKE $1`, [like]);
        if (c > 0) hits.push(`${table}: ${c}`);
      }
      const [{ c }] = await r.ds.query(
        `SELECT count(*)::int AS c FROM outbox o WHERE o.event::text LIKE $1
           AND o.version = (SELECT max(version) FROM outbox p WHERE p.enrollment_id = o.enrollment_id)`,
        [like],
      );
      if (c > 0) hits.push(`last outbox events: ${c}`);
      expect({ needle, hits }).toEqual({ needle, hits: [] });
    };

  const profileGone = (userId: number): Expectation =>
    check(async (r) => expect(await r.ds.query(`SELECT profile FROM user_facts WHERE user_id = $1`, [userId])).toEqual([{ profile: null }]));

  describe('a deleted event carries the last published state (events.md)', () => {
    it('course deleted: an enrollment published completed at 100% comes out deleted as completed at 100%, only updated_at new', async () => {
      await spec
        .given(
          [
            events.courseUpserted({ id: 42, name: 'Intro to Kafka', slug: 'intro-kafka' }, m()),
            events.lessonUpserted(42, { id: 9, section_id: 5, name: 'Welcome', status: 'published', position: 1 }, m()),
            events.userUpserted({ id: 7, username: 'grace', real_name: 'Grace H.' }, m()),
          ],
          events.membershipChanged({ course_id: 42, user_id: 7, join_status: 'joined' }, m()),
          events.lessonCompleted({ course_id: 42, lesson_id: 9, user_id: 7 }, m()),
        )
        .when(
          events.courseDeleted(42, m()),
          run((ctx) => ctx.recompute.run(42)),
        )
        .then(
          published('42:7', [
            { type: 'lms.course_enrollment.created' },
            {
              version: 2,
              course_enrollment: {
                status: 'completed',
                progress_percent: 100,
                course: { title: 'Intro to Kafka' },
                urls: exactly([{ url: 'https://community.example/courses/intro-kafka', type: 'course' }]),
              },
            },
            { type: 'lms.course_enrollment.deleted', version: 3, changed_fields: exactly([]) },
          ]),
          carriesPreviousState('42:7', {}, true),
          rowIsLastPublished('42:7'),
        );
    });

    it("user erased: the last published state without any of that user's personal data", async () => {
      await spec
        .given(
          [
            events.courseUpserted({ id: 43, name: 'Erasure 101', slug: 'erasure' }, m()),
            events.lessonUpserted(43, { id: 1, section_id: 1, name: 'One', status: 'published', position: 1 }, m()),
            events.lessonUpserted(43, { id: 2, section_id: 1, name: 'Two', status: 'published', position: 2 }, m()),
            events.userUpserted({ id: 8, username: 'ada_l', real_name: 'Ada Lovelace', emails: [{ email: 'ada@example.com', type: 'work', is_primary: true }] }, m()),
          ],
          events.membershipChanged({ course_id: 43, user_id: 8, join_status: 'invited', actor: { id: 8, name: 'Ada Lovelace' } }, m()),
          events.membershipChanged({ course_id: 43, user_id: 8, join_status: 'joined' }, m()),
          events.lessonCompleted({ course_id: 43, lesson_id: 1, user_id: 8, time_spent_seconds: 60 }, m()),
        )
        .when(events.userDeleted(8, m()))
        .then(
          published('43:8', [{}, {}, { course_enrollment: { status: 'in_progress', progress_percent: 50, user: { name: 'Ada Lovelace' } } }, {}]),
          publishedByWhen('43:8', [{ type: 'lms.course_enrollment.deleted', changed_fields: exactly(['user', 'assigned_by']) }]),
          carriesPreviousState('43:8', { user: { id: '8', name: null, emails: [] }, assigned_by: { id: '8', name: null } }),
          nowhereStored('Lovelace'),
          nowhereStored('ada@example.com'),
          profileGone(8),
        );
    });
  });

  describe("erasure reaches a name in other users' enrollments, whatever the order (rules.md)", () => {
    const invite = (courseId: number, actor: number, o = m()) =>
      events.membershipChanged({ course_id: courseId, user_id: 7, join_status: 'invited', actor: { id: actor, name: 'Zelda Uniquename' } }, o);

    it('invitation, then the inviter is deleted: republished with the name null, facts and row scrubbed', async () => {
      await spec
        .given(
          [events.courseUpserted({ id: 63, name: 'Course 63' }, m()), events.userUpserted({ id: 903, username: 'zelda', real_name: 'Zelda Uniquename' }, m())],
          invite(63, 903),
        )
        .when(events.userDeleted(903, m()))
        .then(
          published('63:7', [
            { course_enrollment: { assigned_by: exactly({ id: '903', name: 'Zelda Uniquename' }) } },
            {
              type: 'lms.course_enrollment.updated',
              changed_fields: ['assigned_by'],
              course_enrollment: { assigned_by: exactly({ id: '903', name: null }) },
              cause: { type: 'lms.user.deleted' },
            },
          ]),
          enrollmentRow('63:7', { state: { assigned_by: exactly({ id: '903', name: null }) } }),
          nowhereStored('Uniquename'),
          profileGone(903),
        );
    });

    it('the deletion first, then the invitation: the name is null from the start', async () => {
      await spec
        .given([events.courseUpserted({ id: 64, name: 'Course 64' }, m()), events.userDeleted(904, m())])
        .when(invite(64, 904))
        .then(published('64:7', [{ course_enrollment: { assigned_by: exactly({ id: '904', name: null }) } }]), nowhereStored('Uniquename'));
    });

    it('deleted, upserted again, then an older invitation arrives: the name stays null', async () => {
      await spec
        .given(
          events.courseUpserted({ id: 65, name: 'Course 65' }, m()),
          events.userDeleted(905, early(2)),
          events.userUpserted({ id: 905, username: 'zelda', real_name: 'Zelda Uniquename' }, early(3)),
        )
        .when(invite(65, 905, early(1)))
        .then(published('65:7', [{ course_enrollment: { assigned_by: exactly({ id: '905', name: null }) } }]), nowhereStored('Zelda Uniquename'));
    });

    it("a deletion older than the user's latest upsert still erases the name elsewhere (applied, not a no-op)", async () => {
      await spec
        .given(
          [events.courseUpserted({ id: 66, name: 'Course 66' }, m()), events.userUpserted({ id: 906, username: 'zelda', real_name: 'Zelda Uniquename' }, m())],
          invite(66, 906),
        )
        .when(events.userDeleted(906, early(1)))
        .then(returned(['applied']), publishedByWhen('66:7', [{ course_enrollment: { assigned_by: exactly({ id: '906', name: null }) } }]), nowhereStored('Uniquename'));
    });

    it('an enrollment already published as deleted: its deleted state is republished without the name', async () => {
      await spec
        .given(
          events.courseUpserted({ id: 67, name: 'Course 67' }, m()),
          invite(67, 907),
          events.courseDeleted(67, m()),
          run((ctx) => ctx.recompute.run(67)),
        )
        .when(events.userDeleted(907, m()))
        .then(
          published('67:7', [
            { type: 'lms.course_enrollment.created' },
            { type: 'lms.course_enrollment.deleted', version: 2, course_enrollment: { assigned_by: exactly({ id: '907', name: 'Zelda Uniquename' }) } },
            { type: 'lms.course_enrollment.deleted', version: 3, changed_fields: exactly(['assigned_by']) },
          ]),
          carriesPreviousState('67:7', { assigned_by: { id: '907', name: null } }),
          nowhereStored('Uniquename'),
        );
    });
  });
});
