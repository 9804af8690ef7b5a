import type { Sql } from './sql';

/** A change to one course's counters, for one join status ('' = the course-wide counters). */
export interface CourseMemberDelta {
  courseId: number;
  joinStatus: string;
  /** Live (not deleted) enrollments with this join status. */
  members: number;
  /** Sum of their `user_completion_rate`. */
  rateSum: number;
  /** Derivations of the course's enrollments, changed or not (moves the views' ETag). */
  derivations: number;
}

export interface CourseMemberStats {
  courseId: number;
  /** Live enrollments per join status (statuses with none are absent). */
  members: Record<string, number>;
  rateSum: Record<string, number>;
  derivations: number;
}

/**
 * Per-course member counts and completion-rate sums, so that the read API answers `count` and
 * `avg_completion_rate` without visiting the course's members. They change only through
 * EnrollmentRepository.upsert, in the transaction that writes the enrollments.
 *
 * Slices of different partitions write enrollments of the same course in parallel, so one row
 * per course updated by every transaction would serialise them until commit. Instead a writer
 * tries the course's advisory lock without waiting: with it, it folds the course's parked deltas
 * and its own into `course_member_stats`; without it, it parks its delta as a row of
 * `course_member_stat_deltas` (an insert, which waits on nothing). Readers add the parked rows to
 * the folded ones in one statement, so they always see a committed total; parked rows stay few
 * (about one per transaction that met a busy course since its last fold).
 */
export class CourseMemberStatsRepository {
  async add(sql: Sql, deltas: readonly CourseMemberDelta[]): Promise<void> {
    const merged = new Map<string, CourseMemberDelta>();
    for (const d of deltas) {
      const key = `${d.courseId}/${d.joinStatus}`;
      const m = merged.get(key);
      if (m) {
        m.members += d.members;
        m.rateSum += d.rateSum;
        m.derivations += d.derivations;
      } else merged.set(key, { ...d });
    }
    const rows = [...merged.values()]
      .filter((d) => d.members !== 0 || d.rateSum !== 0 || d.derivations !== 0)
      .sort((a, b) => a.courseId - b.courseId || (a.joinStatus < b.joinStatus ? -1 : a.joinStatus > b.joinStatus ? 1 : 0));
    if (rows.length === 0) return;
    // A delta row is only ever deleted by the holder of its course's lock, so each is folded
    // once; rows parked by transactions that commit after this statement began stay parked.
    await sql.query(
      `WITH d AS (
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
           AS d(course_id, join_status, members, rate_sum, derivations)
       ), folding AS MATERIALIZED (
         SELECT c AS course_id FROM (SELECT DISTINCT course_id AS c FROM d) s
         WHERE pg_try_advisory_xact_lock(hashtextextended(current_schema() || '/course-member-stats/' || c, 0))
       ), parked AS (
         INSERT INTO course_member_stat_deltas (course_id, join_status, members, rate_sum, derivations)
         SELECT * FROM d WHERE course_id NOT IN (SELECT course_id FROM folding)
       ), gone AS (
         DELETE FROM course_member_stat_deltas x USING folding f WHERE x.course_id = f.course_id
         RETURNING x.course_id, x.join_status, x.members, x.rate_sum, x.derivations
       )
       INSERT INTO course_member_stats AS s (course_id, join_status, members, rate_sum, derivations)
       SELECT course_id, join_status, sum(members)::bigint, sum(rate_sum)::bigint, sum(derivations)::bigint
       FROM (SELECT * FROM gone UNION ALL SELECT d.* FROM d JOIN folding USING (course_id)) t
       GROUP BY course_id, join_status ORDER BY course_id, join_status
       ON CONFLICT (course_id, join_status) DO UPDATE SET
         members = s.members + excluded.members, rate_sum = s.rate_sum + excluded.rate_sum,
         derivations = s.derivations + excluded.derivations`,
      [rows.map((r) => r.courseId), rows.map((r) => r.joinStatus), rows.map((r) => r.members), rows.map((r) => r.rateSum), rows.map((r) => r.derivations)],
    );
  }

  /** One course's counters: its folded row plus what is parked, read in one snapshot. */
  async read(sql: Sql, courseId: number): Promise<CourseMemberStats> {
    const rows: StatsRow[] = await sql.query(
      `SELECT course_id, join_status, sum(members)::bigint AS members, sum(rate_sum)::bigint AS rate_sum,
              sum(derivations)::bigint AS derivations
       FROM (SELECT * FROM course_member_stats WHERE course_id = $1
             UNION ALL SELECT * FROM course_member_stat_deltas WHERE course_id = $1) s
       GROUP BY course_id, join_status`,
      [courseId],
    );
    return collect(rows).get(courseId) ?? empty(courseId);
  }

  /** Every course's maintained counters (for checks and operators; visits every course). */
  async readAll(sql: Sql): Promise<Map<number, CourseMemberStats>> {
    return collect(
      await sql.query(
        `SELECT course_id, join_status, sum(members)::bigint AS members, sum(rate_sum)::bigint AS rate_sum,
                sum(derivations)::bigint AS derivations
         FROM (SELECT * FROM course_member_stats UNION ALL SELECT * FROM course_member_stat_deltas) s
         GROUP BY course_id, join_status`,
      ),
    );
  }

  /** The same counters worked out from every enrollment (the check of the maintained ones). */
  async recount(sql: Sql): Promise<Map<number, CourseMemberStats>> {
    return collect(
      await sql.query(
        `SELECT course_id, join_status, count(*)::bigint AS members, sum(user_completion_rate)::bigint AS rate_sum,
                0::bigint AS derivations
         FROM enrollments WHERE NOT deleted AND join_status IS NOT NULL GROUP BY course_id, join_status`,
      ),
    );
  }
}

interface StatsRow {
  course_id: number;
  join_status: string;
  members: number;
  rate_sum: number;
  derivations: number;
}

const empty = (courseId: number): CourseMemberStats => ({ courseId, members: {}, rateSum: {}, derivations: 0 });

function collect(rows: readonly StatsRow[]): Map<number, CourseMemberStats> {
  const out = new Map<number, CourseMemberStats>();
  for (const r of rows) {
    const courseId = Number(r.course_id);
    let s = out.get(courseId);
    if (!s) out.set(courseId, (s = empty(courseId)));
    s.derivations += Number(r.derivations);
    if (r.join_status === '') continue;
    if (Number(r.members) !== 0) s.members[r.join_status] = Number(r.members);
    if (Number(r.rate_sum) !== 0) s.rateSum[r.join_status] = Number(r.rate_sum);
  }
  return out;
}
