import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two facts the latest-wins registers could not keep (rules.md "Deletion and erasure", api.md):
 *
 * - `erased_users`: every user id that has had ANY `lms.user.deleted` fact. Erasure of a user's
 *   name in other users' enrollments holds for good, whatever came before or after, so it cannot
 *   read `user_facts`, whose latest fact a newer upsert replaces. Only the id is kept.
 * - `course_snapshots`: each course's latest upsert, a register of its own beside `course_facts`
 *   (whose latest fact may be a tombstone), so a deleted course still shows its last known fields.
 *
 * Backfill: the deletions still visible in `user_facts` and the live snapshots in `course_facts`.
 * Deletions already superseded by an upsert, and the fields of courses already deleted, were not
 * stored before this migration and cannot be recovered here. After migrating, `npm run ops --
 * rebuild` re-derives every enrollment so that names erased before it leave the projection.
 */
export class ErasedUsersAndCourseSnapshots1764000600000 implements MigrationInterface {
  name = 'ErasedUsersAndCourseSnapshots1764000600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE erased_users (user_id bigint PRIMARY KEY)`);
    await q.query(`INSERT INTO erased_users (user_id) SELECT user_id FROM user_facts WHERE deleted`);

    await q.query(`
      CREATE TABLE course_snapshots (
        course_id bigint PRIMARY KEY,
        fact_time text COLLATE "C" NOT NULL,
        fact_source text COLLATE "C" NOT NULL,
        fact_id text COLLATE "C" NOT NULL,
        fact_type text NOT NULL,
        course jsonb NOT NULL
      )`);
    await q.query(`
      INSERT INTO course_snapshots (course_id, fact_time, fact_source, fact_id, fact_type, course)
      SELECT course_id, fact_time, fact_source, fact_id, fact_type, course FROM course_facts WHERE NOT deleted`);

    // Finds the enrollments naming an actor when that actor is erased.
    await q.query(`CREATE INDEX membership_facts_actor_idx ON membership_facts (((actor->>'id')::bigint)) WHERE actor IS NOT NULL`);
    await q.query(`
      UPDATE membership_facts m SET actor = jsonb_set(m.actor, '{name}', 'null')
      FROM erased_users e
      WHERE m.actor IS NOT NULL AND m.actor->>'name' IS NOT NULL AND (m.actor->>'id')::bigint = e.user_id`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS membership_facts_actor_idx`);
    await q.query(`DROP TABLE IF EXISTS course_snapshots`);
    await q.query(`DROP TABLE IF EXISTS erased_users`);
  }
}
