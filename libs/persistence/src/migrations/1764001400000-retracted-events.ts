import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When an operator retracted an event's fact (`npm run ops -- facts retract`). The inbox keeps
 * the event's entry, marked, so the event stays a duplicate: a replay of its topic does not bring
 * the fact back, and a later retraction, which releases the entries of events no fact table
 * holds (superseded register facts, so that re-sent they are applied), leaves it out.
 */
export class RetractedEvents1764001400000 implements MigrationInterface {
  name = 'RetractedEvents1764001400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE processed_events ADD COLUMN retracted_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE processed_events DROP COLUMN IF EXISTS retracted_at`);
  }
}
