import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The partitioned relay. Each outbox row carries the output partition its key maps to, computed
 * when it is written (null for rows written before this migration, or by a writer without the
 * partition count: the relay fills those in before it reads). Relay work is split into slots
 * (slot = output partition mod the slot count); a slot is owned iff `owner is not null and
 * lease_expires_at > now()`, and any replica may take a slot whose lease has run out. Replicas
 * announce themselves in `outbox_relay_replicas` so each can take its fair share of the slots.
 */
export class RelaySlots1764000900000 implements MigrationInterface {
  name = 'RelaySlots1764000900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN output_partition integer`);
    // A replica reads only its slots' partitions, oldest first.
    await q.query(`CREATE INDEX outbox_partition_pending_idx ON outbox (output_partition, seq) WHERE parked_at IS NULL`);
    await q.query(`
      CREATE TABLE outbox_relay_slots (
        slot integer PRIMARY KEY CHECK (slot >= 0),
        owner text,
        lease_expires_at timestamptz,
        acquired_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE outbox_relay_replicas (
        replica text PRIMARY KEY,
        seen_until timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS outbox_relay_replicas`);
    await q.query(`DROP TABLE IF EXISTS outbox_relay_slots`);
    await q.query(`DROP INDEX IF EXISTS outbox_partition_pending_idx`);
    await q.query(`ALTER TABLE outbox DROP COLUMN IF EXISTS output_partition`);
  }
}
