import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Parked outbox events: an event the broker refuses for good (too large for the output topic,
 * an invalid record) is set aside with the broker's reason instead of blocking the relay, and
 * later events of the same key are held behind it so that no consumer sees a gap. A parked row
 * keeps its `seq`, so moving it back to pending (`npm run ops -- parked --republish`) puts it
 * back in its place, ahead of its key's later versions.
 */
export class OutboxParking1764000300000 implements MigrationInterface {
  name = 'OutboxParking1764000300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN parked_at timestamptz, ADD COLUMN parked_reason text`);
    await q.query(`
      ALTER TABLE outbox ADD CONSTRAINT outbox_parked_reason_check
        CHECK ((parked_at IS NULL) = (parked_reason IS NULL))`);
    // The relay asks "has this key a parked event?" before every read; parked rows are few.
    await q.query(`CREATE INDEX outbox_parked_idx ON outbox (enrollment_id, version) WHERE parked_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS outbox_parked_idx`);
    await q.query(`ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_parked_reason_check`);
    await q.query(`ALTER TABLE outbox DROP COLUMN IF EXISTS parked_reason, DROP COLUMN IF EXISTS parked_at`);
  }
}
