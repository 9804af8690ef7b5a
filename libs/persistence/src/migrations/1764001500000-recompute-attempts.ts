import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which dispatch of a recompute request is current. A request's job can end without doing the
 * work (its attempts spent against a Redis that refused writes, or a failure that outlasted
 * them); the dispatcher then counts the next attempt here and enqueues a job under a new id
 * (`course-{id}-g{generation}-a{attempt}`), so every dispatcher derives the same id for it. A new
 * generation starts again at 1.
 */
export class RecomputeAttempts1764001500000 implements MigrationInterface {
  name = 'RecomputeAttempts1764001500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE recompute_requests ADD COLUMN attempt integer NOT NULL DEFAULT 1`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE recompute_requests DROP COLUMN IF EXISTS attempt`);
  }
}
