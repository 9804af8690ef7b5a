import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rows written without an output partition are rare (the relay gives them one), but every relay
 * replica looks for them once a second: without this index that look read the whole outbox,
 * 100k rows while a course-wide recompute is being published.
 */
export class OutboxUnassignedIndex1764001100000 implements MigrationInterface {
  name = 'OutboxUnassignedIndex1764001100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX outbox_unassigned_idx ON outbox (enrollment_id) WHERE output_partition IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS outbox_unassigned_idx`);
  }
}
