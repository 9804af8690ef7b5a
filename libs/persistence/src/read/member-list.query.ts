/**
 * The Course User Dashboard list's SQL. Without `search`, a page is the merge of one ordered
 * range per requested join status of an `enrollments_members_*` index ((course_id, join_status,
 * sort key, user_id), one per direction), read index-only up to offset + limit entries; only the
 * page's rows are then joined to their enrollment and profile. So the first page costs the same
 * in any course, and a deep offset costs the index entries it skips, never a sort of the course.
 * `count` comes from the maintained per-course counters (CourseMemberStatsRepository).
 *
 * With `search`, candidates come from the trigram indexes on the profiles' username and real
 * name (when pg_trgm is installed), so the work is bounded by the profiles that match, or by the
 * course's members when that is fewer (the planner picks); a search shorter than three
 * characters has no trigram to look up and walks the course's members. Both sides are compared
 * in `searchForm`: a name stored decomposed (NFD) and a search typed composed find each other.
 */
export type MemberOrdering = 'joined_at' | '-joined_at' | 'last_active_at' | '-last_active_at';

const SORT: Record<MemberOrdering, { column: string; dir: 'ASC' | 'DESC' }> = {
  joined_at: { column: 'enrolled_at', dir: 'ASC' },
  '-joined_at': { column: 'enrolled_at', dir: 'DESC' },
  last_active_at: { column: 'last_activity_at', dir: 'ASC' },
  '-last_active_at': { column: 'last_activity_at', dir: 'DESC' },
};

/** Nulls last in both directions, as the indexes are built; `reversed` walks the other way. */
const orderBy = (o: MemberOrdering, alias: string, reversed = false): string => {
  const { column, dir } = SORT[o];
  const d = reversed ? (dir === 'ASC' ? 'DESC' : 'ASC') : dir;
  return `${alias}${column} ${d} NULLS ${reversed ? 'FIRST' : 'LAST'}, ${alias}user_id ${d}`;
};

const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

const COLUMNS = `e.user_id, u.profile->>'username' AS username, u.profile->>'real_name' AS real_name,
  u.profile->>'avatar' AS avatar, e.join_status, e.user_completion_rate,
  e.state->>'last_activity_at' AS last_active_at, e.state->>'enrolled_at' AS joined_at`;

export interface MemberPageRequest {
  courseId: number;
  statuses: readonly string[];
  ordering: MemberOrdering;
  limit: number;
  offset: number;
}

/**
 * A page without search, given the number of members it pages through (from the counters). A
 * page in the second half is read from the far end of the indexes (backwards) and turned round
 * by the caller (`reversed`), so a page costs at most half the course's index entries, and the
 * last page as little as the first. Each status's range is ordered and limited on its own, which
 * is what lets Postgres merge the ranges (Merge Append) rather than sort their union.
 */
export function memberPageQuery(r: MemberPageRequest, count: number): { sql: string; params: unknown[]; reversed: boolean } {
  const limit = Math.max(0, Math.min(r.limit, count - r.offset));
  const reversed = r.offset + limit / 2 > count / 2;
  const offset = reversed ? count - r.offset - limit : r.offset;
  const params: unknown[] = [r.courseId, limit, offset];
  const ranges = r.statuses.map((s) => {
    params.push(s);
    return `(SELECT user_id, enrolled_at, last_activity_at FROM enrollments
             WHERE course_id = $1 AND NOT deleted AND join_status = $${params.length}
             ORDER BY ${orderBy(r.ordering, '', reversed)} LIMIT $2::bigint + $3::bigint)`;
  });
  return {
    sql: `SELECT ${COLUMNS}
     FROM (SELECT * FROM (${ranges.join(' UNION ALL ')}) m ORDER BY ${orderBy(r.ordering, 'm.', reversed)} LIMIT $2 OFFSET $3) p
     JOIN enrollments e ON e.course_id = $1 AND e.user_id = p.user_id
     LEFT JOIN user_facts u ON u.user_id = e.user_id AND NOT u.deleted
     ORDER BY ${orderBy(r.ordering, 'p.', reversed)}`,
    params,
    reversed,
  };
}

/**
 * What a search compares: NFC, then lower case (by the database's ctype, Unicode in any UTF-8
 * locale). The trigram indexes are on exactly this expression of each profile field (migration
 * MemberSearchNormalised), or the planner could not use them.
 */
export const searchForm = (text: string): string => `lower(normalize(${text}, NFC))`;

const searchFrom = `FROM enrollments e JOIN user_facts u ON u.user_id = e.user_id AND NOT u.deleted
  WHERE e.course_id = $1 AND NOT e.deleted AND e.join_status = ANY($2::text[])
    AND (${searchForm("u.profile->>'username'")} LIKE ${searchForm('$3::text')} ESCAPE '\\'
      OR ${searchForm("u.profile->>'real_name'")} LIKE ${searchForm('$3::text')} ESCAPE '\\')`;

/** A page with search (case-insensitive substring of username or real name, both normalised). */
export function memberSearchQuery(r: MemberPageRequest & { search: string }): [string, unknown[]] {
  return [
    `SELECT ${COLUMNS} ${searchFrom} ORDER BY ${orderBy(r.ordering, 'e.')} LIMIT $4 OFFSET $5`,
    [r.courseId, r.statuses, `%${escapeLike(r.search)}%`, r.limit, r.offset],
  ];
}

/** The count of a search (the counters cannot know which profiles match). */
export function memberSearchCountQuery(r: { courseId: number; statuses: readonly string[]; search: string }): [string, unknown[]] {
  return [`SELECT count(*)::int AS count ${searchFrom}`, [r.courseId, r.statuses, `%${escapeLike(r.search)}%`]];
}
