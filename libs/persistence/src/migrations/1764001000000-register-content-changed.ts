import { MigrationInterface, QueryRunner } from 'typeorm';

const REGISTERS = ['course_facts', 'section_facts', 'lesson_facts', 'user_facts'];

/**
 * Whether the last write of a register row changed what it holds (its body or its tombstone),
 * not only which fact it came from. A newer fact with the same content must still replace the
 * stored one (registers keep the latest fact), but nothing derived from the row changes, so the
 * writer need not re-derive the user's or course's enrollments nor lock them against new ones.
 * Set by the upsert itself, against the row version it replaced: no second read, no race.
 */
export class RegisterContentChanged1764001000000 implements MigrationInterface {
  name = 'RegisterContentChanged1764001000000';

  async up(q: QueryRunner): Promise<void> {
    for (const t of REGISTERS) await q.query(`ALTER TABLE ${t} ADD COLUMN content_changed boolean NOT NULL DEFAULT true`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of REGISTERS) await q.query(`ALTER TABLE ${t} DROP COLUMN IF EXISTS content_changed`);
  }
}
