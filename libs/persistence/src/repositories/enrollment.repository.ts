import type { CourseEnrollment } from '@app/domain';
import type { EnrollmentKey } from './fact.repository';
import { CourseMemberDelta, CourseMemberStatsRepository } from './course-member-stats.repository';
import type { EnrollmentSet } from './chunked-walk';
import { json, Sql } from './sql';

export interface EnrollmentRow {
  courseId: number;
  userId: number;
  id: string;
  version: number;
  deleted: boolean;
  status: string;
  joinStatus: string | null;
  userCompletionRate: number;
  state: CourseEnrollment;
  updatedAt: string;
  nextDeadlineAt: string | null;
}

/**
 * Owner locks are hashed into buckets so that one transaction holds a bounded number of them.
 * Users get more buckets than courses: a slice's profile changes lock their users' buckets
 * exclusively, and with few buckets nearly every slice creating enrollments of other users met
 * one of them and waited (docs/performance.md, "Carried targets": sampled lock waits before and after).
 */
const USER_BUCKETS = 4096;
const COURSE_BUCKETS = 256;
const ownerLockKeys = (userIds: readonly number[], courseIds: readonly number[]): string[] => [
  ...new Set([...userIds.map((u) => `enrollment-sync:user:${u % USER_BUCKETS}`), ...courseIds.map((c) => `enrollment-sync:course:${c % COURSE_BUCKETS}`)]),
];

/** The derived projection: one row per enrollment, holding the last published object. */
export class EnrollmentRepository {
  constructor(private readonly stats = new CourseMemberStatsRepository()) {}

  /**
   * Serialises every writer of the same enrollments (consumers of other partitions, the
   * recompute fan-out, the deadline sweep) for the rest of the transaction. Locks are taken in
   * one sorted order, so two writers never wait on each other in a cycle. Facts must be read
   * after this returns, so the derivation sees every fact committed before the lock was granted.
   */
  async lock(sql: Sql, keys: readonly EnrollmentKey[]): Promise<void> {
    if (keys.length === 0) return;
    await sql.query(
      `SELECT count(pg_advisory_xact_lock(h)) FROM (
         SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY 1
       ) s`,
      [keys.map((k) => `${k.courseId}:${k.userId}`)],
    );
  }

  /**
   * Locks of users and courses (hashed into buckets to bound the number of locks), for the rest
   * of the transaction, taken before `lock`. A slice that stores new memberships shares them for
   * those memberships' users and courses before deriving. A change takes them exclusively before
   * it looks up the enrollments to re-derive: a slice that changed users' profiles does so in its
   * own transaction; a course-wide recompute does so in a transaction of its own before its walk
   * (after the structure change that requested it committed). So a new enrollment is either
   * derived from the new profile or structure, or committed before the change looks up its
   * enrollments and re-derived there. (Enrollments that already exist are found by the change
   * and serialised by `lock`.) A structure change itself takes no course lock, so it never waits
   * for, nor holds up, the slices of the course's other partitions.
   */
  async lockOwners(sql: Sql, userIds: readonly number[], courseIds: readonly number[], mode: 'shared' | 'exclusive'): Promise<void> {
    if (userIds.length === 0 && courseIds.length === 0) return;
    const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
    await sql.query(
      `SELECT count(${fn}(h)) FROM (
         SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY 1
       ) s`,
      [ownerLockKeys(userIds, courseIds)],
    );
  }

  async find(sql: Sql, keys: readonly EnrollmentKey[]): Promise<Map<string, EnrollmentRow>> {
    if (keys.length === 0) return new Map();
    const rows = await sql.query(
      `SELECT course_id, user_id, id, version, deleted, status, join_status, user_completion_rate, state,
              updated_at, next_deadline_at
       FROM enrollments WHERE (course_id, user_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))`,
      [keys.map((k) => k.courseId), keys.map((k) => k.userId)],
    );
    return new Map(rows.map((r: Record<string, never>) => [r['id'], toRow(r)]));
  }

  /**
   * Writes enrollments and, in the same statement's snapshot, works out how they move their
   * courses' member counters (the rows as they were versus as written), then adds that to the
   * per-course counters. `derived` lists every enrollment the caller re-derived, written or not:
   * each counts as a derivation of its course. The caller holds the enrollments' locks (`lock`),
   * so what this reads as "before" is what the write replaces.
   */
  async upsert(sql: Sql, rows: readonly EnrollmentRow[], derived: readonly EnrollmentKey[] = []): Promise<void> {
    const deltas: CourseMemberDelta[] = [];
    const byCourse = new Map<number, number>();
    for (const k of derived) byCourse.set(k.courseId, (byCourse.get(k.courseId) ?? 0) + 1);
    for (const [courseId, n] of byCourse) deltas.push({ courseId, joinStatus: '', members: 0, rateSum: 0, derivations: n });
    if (rows.length > 0) {
      const moved: { course_id: number; join_status: string; members: number; rate_sum: number }[] = await sql.query(
        `WITH input AS (
           SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::boolean[], $6::text[], $7::text[],
                                $8::int[], $9::jsonb[], $10::timestamptz[], $11::timestamptz[])
             AS i(course_id, user_id, id, version, deleted, status, join_status, user_completion_rate, state, updated_at, next_deadline_at)
         ), before AS MATERIALIZED (
           -- Looked up by primary key only, filtered after: with "NOT deleted" beside the join the
           -- planner took a member index (course_id, join_status, <time>, user_id) instead, and
           -- read every entry of the course for each row (4 s a slice in a 100k-member course).
           SELECT e.course_id, e.join_status, e.user_completion_rate, e.deleted FROM enrollments e
           JOIN input i ON i.course_id = e.course_id AND i.user_id = e.user_id
         ), written AS (
           INSERT INTO enrollments AS e (course_id, user_id, id, version, deleted, status, join_status, user_completion_rate,
                                         state, updated_at, next_deadline_at, enrolled_at, last_activity_at)
           SELECT i.*, i.state->>'enrolled_at', i.state->>'last_activity_at' FROM input i
           ON CONFLICT (course_id, user_id) DO UPDATE SET
             version = excluded.version, deleted = excluded.deleted, status = excluded.status,
             join_status = excluded.join_status, user_completion_rate = excluded.user_completion_rate,
             state = excluded.state, updated_at = excluded.updated_at, next_deadline_at = excluded.next_deadline_at,
             enrolled_at = excluded.enrolled_at, last_activity_at = excluded.last_activity_at
           RETURNING e.course_id, e.join_status, e.user_completion_rate, e.deleted
         )
         SELECT course_id, join_status, sum(members)::int AS members, sum(rate)::bigint AS rate_sum FROM (
           SELECT course_id, join_status, -1 AS members, -user_completion_rate AS rate FROM before WHERE NOT deleted AND join_status IS NOT NULL
           UNION ALL
           SELECT course_id, join_status, 1, user_completion_rate FROM written WHERE NOT deleted AND join_status IS NOT NULL
         ) c GROUP BY course_id, join_status`,
        [
          rows.map((r) => r.courseId),
          rows.map((r) => r.userId),
          rows.map((r) => r.id),
          rows.map((r) => r.version),
          rows.map((r) => r.deleted),
          rows.map((r) => r.status),
          rows.map((r) => r.joinStatus),
          rows.map((r) => r.userCompletionRate),
          rows.map((r) => json(r.state)),
          rows.map((r) => r.updatedAt),
          rows.map((r) => r.nextDeadlineAt),
        ],
      );
      for (const m of moved) {
        deltas.push({ courseId: Number(m.course_id), joinStatus: m.join_status, members: Number(m.members), rateSum: Number(m.rate_sum), derivations: 0 });
      }
    }
    await this.stats.add(sql, deltas);
  }

  /** Keys of every enrollment of these users (a profile change or an erasure touches them all). */
  async keysOfUsers(sql: Sql, userIds: readonly number[]): Promise<EnrollmentKey[]> {
    if (userIds.length === 0) return [];
    const rows: { course_id: number; user_id: number }[] = await sql.query(`SELECT DISTINCT course_id, user_id FROM membership_facts WHERE user_id = ANY($1::bigint[])`, [
      userIds,
    ]);
    return rows.map((r) => ({ courseId: r.course_id, userId: r.user_id }));
  }

  /** Every enrollment of a course (a structure change re-derives them all). */
  ofCourse(courseId: number): EnrollmentSet {
    return {
      count: async (sql) => {
        const [{ n }]: { n: number }[] = await sql.query(`SELECT count(*)::int AS n FROM enrollments WHERE course_id = $1`, [courseId]);
        return n;
      },
      page: async (sql, after, limit) => {
        const rows: { user_id: number }[] = await sql.query(`SELECT user_id FROM enrollments WHERE course_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`, [
          courseId,
          after?.userId ?? 0,
          limit,
        ]);
        return rows.map((r) => ({ courseId, userId: r.user_id }));
      },
    };
  }

  /**
   * Every enrollment that exists by the facts: any with a membership fact (their source of truth,
   * whatever the `enrollments` table holds), for a rebuild.
   */
  withMembershipFacts(): EnrollmentSet {
    return {
      count: async (sql) => {
        const [{ n }]: { n: number }[] = await sql.query(`SELECT count(*)::int AS n FROM (SELECT DISTINCT course_id, user_id FROM membership_facts) s`);
        return n;
      },
      page: (sql, after, limit) =>
        keys(
          sql.query(
            `SELECT DISTINCT course_id, user_id FROM membership_facts
             WHERE (course_id, user_id) > ($1, $2) ORDER BY course_id, user_id LIMIT $3`,
            [after?.courseId ?? 0, after?.userId ?? 0, limit],
          ),
        ),
    };
  }

  /**
   * Enrollments whose next deadline had passed at `now` (the deadline sweep re-derives them).
   * Walked by key, not by deadline: re-deriving moves a row's deadline, and a walk by key visits
   * each row once whatever its deadline becomes.
   */
  dueForDeadline(now: string): EnrollmentSet {
    return {
      count: async (sql) => {
        const [{ n }]: { n: number }[] = await sql.query(`SELECT count(*)::int AS n FROM enrollments WHERE next_deadline_at <= $1`, [now]);
        return n;
      },
      page: (sql, after, limit) =>
        keys(
          sql.query(
            `SELECT course_id, user_id FROM enrollments
             WHERE next_deadline_at <= $1 AND (course_id, user_id) > ($2, $3) ORDER BY course_id, user_id LIMIT $4`,
            [now, after?.courseId ?? 0, after?.userId ?? 0, limit],
          ),
        ),
    };
  }
}

async function keys(rows: Promise<{ course_id: number; user_id: number }[]>): Promise<EnrollmentKey[]> {
  return (await rows).map((r) => ({ courseId: r.course_id, userId: r.user_id }));
}

function toRow(r: Record<string, never>): EnrollmentRow {
  return {
    courseId: r['course_id'],
    userId: r['user_id'],
    id: r['id'],
    version: r['version'],
    deleted: r['deleted'],
    status: r['status'],
    joinStatus: r['join_status'],
    userCompletionRate: r['user_completion_rate'],
    state: r['state'],
    updatedAt: new Date(r['updated_at']).toISOString(),
    nextDeadlineAt: r['next_deadline_at'] ? new Date(r['next_deadline_at']).toISOString() : null,
  };
}
