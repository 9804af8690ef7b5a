import type { CourseEnrollment } from '@app/domain';
import type { EnrollmentKey } from './fact.repository';
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

const OWNER_BUCKETS = 256;
const ownerLockKeys = (userIds: readonly number[], courseIds: readonly number[]): string[] => [
  ...new Set([
    ...userIds.map((u) => `enrollment-sync:user:${u % OWNER_BUCKETS}`),
    ...courseIds.map((c) => `enrollment-sync:course:${c % OWNER_BUCKETS}`),
  ]),
];

/** The derived projection: one row per enrollment, holding the last published object. */
export class EnrollmentRepository {
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
   * of the transaction, taken before `lock`. A slice that changed users' profiles or courses'
   * structure takes them exclusively before it looks up the enrollments to re-derive (and
   * before it commits a recompute request); a slice that stores new memberships shares them
   * for those memberships' users and courses before deriving. So a new enrollment is either
   * derived from the new profile or structure, or committed before the change looks up its
   * enrollments and re-derived there. (Enrollments that already exist are found by the change
   * and serialised by `lock`.)
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

  async upsert(sql: Sql, rows: readonly EnrollmentRow[]): Promise<void> {
    if (rows.length === 0) return;
    await sql.query(
      `INSERT INTO enrollments AS e (course_id, user_id, id, version, deleted, status, join_status, user_completion_rate,
                                     state, updated_at, next_deadline_at)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::boolean[], $6::text[], $7::text[],
                            $8::int[], $9::jsonb[], $10::timestamptz[], $11::timestamptz[])
       ON CONFLICT (course_id, user_id) DO UPDATE SET
         version = excluded.version, deleted = excluded.deleted, status = excluded.status,
         join_status = excluded.join_status, user_completion_rate = excluded.user_completion_rate,
         state = excluded.state, updated_at = excluded.updated_at, next_deadline_at = excluded.next_deadline_at`,
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
  }

  /** Keys of every enrollment of these users (a profile change or an erasure touches them all). */
  async keysOfUsers(sql: Sql, userIds: readonly number[]): Promise<EnrollmentKey[]> {
    if (userIds.length === 0) return [];
    const rows: { course_id: number; user_id: number }[] = await sql.query(
      `SELECT DISTINCT course_id, user_id FROM membership_facts WHERE user_id = ANY($1::bigint[])`,
      [userIds],
    );
    return rows.map((r) => ({ courseId: r.course_id, userId: r.user_id }));
  }

  /** One page of a course's enrollments in user order, for chunked fan-out. */
  async keysOfCourse(sql: Sql, courseId: number, afterUserId: number, limit: number): Promise<EnrollmentKey[]> {
    const rows: { user_id: number }[] = await sql.query(
      `SELECT user_id FROM enrollments WHERE course_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`,
      [courseId, afterUserId, limit],
    );
    return rows.map((r) => ({ courseId, userId: r.user_id }));
  }

  /** Enrollments whose next deadline has passed (the deadline sweep re-derives them). */
  async dueForDeadline(sql: Sql, now: string, limit: number): Promise<EnrollmentKey[]> {
    const rows: { course_id: number; user_id: number }[] = await sql.query(
      `SELECT course_id, user_id FROM enrollments WHERE next_deadline_at <= $1 ORDER BY next_deadline_at LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => ({ courseId: r.course_id, userId: r.user_id }));
  }
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
