import { MigrationInterface, QueryRunner } from 'typeorm';

const EXTENSION_LOCK = 'enrollment-sync:create-extension:pg_trgm';

/**
 * Read paths whose cost does not grow with the course (docs/performance.md, "Read API"):
 *
 * - the member list's sort keys as columns (`enrolled_at`, `last_activity_at`), so an index can
 *   order a course's members per join status; one index per direction, because both directions
 *   put nulls last. They hold the canonical UTC text of the state (fixed width, so byte order
 *   is time order) rather than timestamptz: a cast would fail on a stored time Postgres cannot
 *   represent (year 0000, accepted before the contract bounded years), and every row must list;
 * - `(course_id, status, updated_at, id)` for the unified list filtered by course (and status):
 *   the API merges one ordered index range per status instead of sorting the course;
 * - per-course member counts and completion-rate sums per join status, maintained by the
 *   projection's write path (`course_member_stats`, with `course_member_stat_deltas` for
 *   writers that find the course's row busy: see CourseMemberStatsRepository);
 * - trigram indexes for the member search, when the pg_trgm extension can be had.
 */
export class ReadPaths1764000700000 implements MigrationInterface {
  name = 'ReadPaths1764000700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE enrollments ADD COLUMN enrolled_at text COLLATE "C", ADD COLUMN last_activity_at text COLLATE "C"`);
    await q.query(
      `UPDATE enrollments SET enrolled_at = state->>'enrolled_at', last_activity_at = state->>'last_activity_at'
       WHERE state->>'enrolled_at' IS NOT NULL OR state->>'last_activity_at' IS NOT NULL`,
    );
    await q.query(`CREATE INDEX enrollments_course_paging_idx ON enrollments (course_id, status, updated_at, id) WHERE NOT deleted`);
    for (const [name, col] of [
      ['joined', 'enrolled_at'],
      ['active', 'last_activity_at'],
    ]) {
      await q.query(`CREATE INDEX enrollments_members_${name}_asc_idx ON enrollments (course_id, join_status, ${col} ASC NULLS LAST, user_id ASC) WHERE NOT deleted`);
      await q.query(`CREATE INDEX enrollments_members_${name}_desc_idx ON enrollments (course_id, join_status, ${col} DESC NULLS LAST, user_id DESC) WHERE NOT deleted`);
    }
    // Its (course_id, join_status) prefix is served by the member indexes above.
    await q.query(`DROP INDEX enrollments_course_join_idx`);

    // `join_status` '' is the course's row of counters that are not per join status.
    const statsColumns = `
        course_id bigint NOT NULL,
        join_status text COLLATE "C" NOT NULL,
        members bigint NOT NULL DEFAULT 0,
        rate_sum bigint NOT NULL DEFAULT 0,
        derivations bigint NOT NULL DEFAULT 0`;
    await q.query(`CREATE TABLE course_member_stats (${statsColumns}, PRIMARY KEY (course_id, join_status))`);
    await q.query(`CREATE TABLE course_member_stat_deltas (${statsColumns})`);
    await q.query(`CREATE INDEX course_member_stat_deltas_course_idx ON course_member_stat_deltas (course_id)`);
    await q.query(
      `INSERT INTO course_member_stats (course_id, join_status, members, rate_sum)
       SELECT course_id, join_status, count(*), sum(user_completion_rate) FROM enrollments
       WHERE NOT deleted AND join_status IS NOT NULL GROUP BY course_id, join_status`,
    );

    const trgm = await trigramSchema(q);
    if (trgm !== undefined) {
      for (const field of ['username', 'real_name']) {
        await q.query(`CREATE INDEX user_facts_${field}_trgm_idx ON user_facts USING gin ((profile->>'${field}') "${trgm}".gin_trgm_ops) WHERE NOT deleted`);
      }
    }
  }

  async down(q: QueryRunner): Promise<void> {
    // The extension stays: other schemas of the database may use it.
    await q.query(`DROP INDEX IF EXISTS user_facts_username_trgm_idx`);
    await q.query(`DROP INDEX IF EXISTS user_facts_real_name_trgm_idx`);
    await q.query(`DROP TABLE course_member_stat_deltas`);
    await q.query(`DROP TABLE course_member_stats`);
    await q.query(`CREATE INDEX enrollments_course_join_idx ON enrollments (course_id, join_status) WHERE NOT deleted`);
    for (const name of ['joined', 'active']) {
      await q.query(`DROP INDEX enrollments_members_${name}_asc_idx`);
      await q.query(`DROP INDEX enrollments_members_${name}_desc_idx`);
    }
    await q.query(`DROP INDEX enrollments_course_paging_idx`);
    await q.query(`ALTER TABLE enrollments DROP COLUMN enrolled_at, DROP COLUMN last_activity_at`);
  }
}

/**
 * The schema holding pg_trgm, creating the extension (in `public`, shared by every schema of the
 * database) when it is available and this role may; undefined when it cannot be had, and then
 * the member search scans the course's members (the bound documented in docs/performance.md).
 * Stock Postgres images ship it with the contrib modules, and it is a trusted extension.
 */
export async function trigramSchema(q: QueryRunner): Promise<string | undefined> {
  const installed = async (): Promise<string | undefined> =>
    (await q.query(`SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'pg_trgm'`))[0]?.schema;
  const found = await installed();
  if (found !== undefined) return found.replace(/^"|"$/g, '');
  const [can] = await q.query(
    `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')
        AND has_database_privilege(current_database(), 'CREATE')
        AND has_schema_privilege('public', 'CREATE') AS ok`,
  );
  if (!can.ok) return undefined;
  // Migrations of several schemas may run at once: one creates it, the others then find it.
  await q.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [EXTENSION_LOCK]);
  await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public`);
  return (await installed())?.replace(/^"|"$/g, '');
}
