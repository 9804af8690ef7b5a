import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each processed event said (ProcessedEventsRepository.contentHash), so that a duplicate
 * with another payload or time, an upstream that reused an id, can be told from a plain re-send
 * and reported. A column of the inbox row, no key of its own: the row's key stays the event's,
 * and takes the tenant with it when that joins the key. Rows written before it have none, and
 * their duplicates cannot be compared.
 */
export class ProcessedEventContentHash1764001300000 implements MigrationInterface {
  name = 'ProcessedEventContentHash1764001300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE processed_events ADD COLUMN content_hash bytea`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE processed_events DROP COLUMN IF EXISTS content_hash`);
  }
}
