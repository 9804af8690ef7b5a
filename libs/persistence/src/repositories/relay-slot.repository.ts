import type { Sql } from './sql';

/** A slot this replica holds, and until when by the database's clock. */
export interface SlotLease {
  slot: number;
  leaseExpiresAt: Date;
}

/**
 * Relay slot leases and live replicas. Every time is the database's (`now()`), so replicas
 * never compare their own clocks: a slot is owned iff `owner is not null and
 * lease_expires_at > now()`, and is taken only once that no longer holds.
 */
export class RelaySlotRepository {
  /** Creates slots 0..count-1 when the table is empty; returns the slot count the table holds. */
  async ensureSlots(sql: Sql, count: number): Promise<number> {
    await sql.query(
      `INSERT INTO outbox_relay_slots (slot)
       SELECT s FROM generate_series(0, $1::int - 1) AS s
        WHERE NOT EXISTS (SELECT 1 FROM outbox_relay_slots)
       ON CONFLICT (slot) DO NOTHING`,
      [count],
    );
    const [{ n }]: { n: number }[] = await sql.query(`SELECT count(*)::int AS n FROM outbox_relay_slots`);
    return n;
  }

  /** Marks `replica` live for `ttlMs`, forgets replicas long gone, and counts the live ones. */
  async heartbeat(sql: Sql, replica: string, ttlMs: number): Promise<number> {
    await sql.query(
      `INSERT INTO outbox_relay_replicas (replica, seen_until) VALUES ($1, now() + $2::int * interval '1 millisecond')
       ON CONFLICT (replica) DO UPDATE SET seen_until = excluded.seen_until`,
      [replica, ttlMs],
    );
    await sql.query(`DELETE FROM outbox_relay_replicas WHERE seen_until < now() - interval '1 hour'`);
    const [{ n }]: { n: number }[] = await sql.query(`SELECT count(*)::int AS n FROM outbox_relay_replicas WHERE seen_until > now()`);
    return n;
  }

  async leave(sql: Sql, replica: string): Promise<void> {
    await sql.query(`DELETE FROM outbox_relay_replicas WHERE replica = $1`, [replica]);
  }

  /** Extends the leases `replica` still holds; a slot whose lease ran out is not renewed (it is lost). */
  async renew(sql: Sql, replica: string, ttlMs: number): Promise<SlotLease[]> {
    const [rows]: [{ slot: number; lease_expires_at: Date }[], number] = await sql.query(
      `UPDATE outbox_relay_slots SET lease_expires_at = now() + $2::int * interval '1 millisecond'
        WHERE owner = $1 AND lease_expires_at > now()
        RETURNING slot, lease_expires_at`,
      [replica, ttlMs],
    );
    return rows.map(lease);
  }

  /**
   * Takes up to `max` slots that nobody owns (lease expired or released), lowest first, and any
   * slot nobody has taken for `orphanAfterMs` whatever `max` says: a replica counts the others
   * live until their heartbeat runs out, so right after a kill every survivor may think its share
   * full while the dead one's slots wait; the rescue bounds that wait. A slot never owned counts
   * as free for ever.
   */
  async acquire(sql: Sql, replica: string, max: number, ttlMs: number, orphanAfterMs: number): Promise<SlotLease[]> {
    const [rows]: [{ slot: number; lease_expires_at: Date }[], number] = await sql.query(
      `WITH free AS (
         SELECT slot, lease_expires_at FROM outbox_relay_slots
          WHERE owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= now()
          ORDER BY slot
            FOR UPDATE SKIP LOCKED
       ), chosen AS (
         SELECT slot FROM (SELECT slot, lease_expires_at, row_number() OVER (ORDER BY slot) AS n FROM free) f
          WHERE n <= $2 OR lease_expires_at IS NULL OR lease_expires_at <= now() - $4::int * interval '1 millisecond'
       )
       UPDATE outbox_relay_slots s
          SET owner = $1, lease_expires_at = now() + $3::int * interval '1 millisecond', acquired_at = now()
        WHERE s.slot IN (SELECT slot FROM chosen)
          AND (s.owner IS NULL OR s.lease_expires_at IS NULL OR s.lease_expires_at <= now())
        RETURNING s.slot, s.lease_expires_at`,
      [replica, Math.max(0, max), ttlMs, orphanAfterMs],
    );
    return rows.map(lease);
  }

  /** Gives slots up at once, so another replica may take them without waiting for the lease. */
  async release(sql: Sql, replica: string, slots: readonly number[]): Promise<void> {
    if (slots.length === 0) return;
    await sql.query(
      // The lease ends now (not NULL): how long a slot has waited for an owner is measured from here.
      `UPDATE outbox_relay_slots SET owner = NULL, lease_expires_at = now(), acquired_at = NULL
        WHERE owner = $1 AND slot = ANY($2::int[])`,
      [replica, slots],
    );
  }

  /** Every slot and its owner now (null when the lease ran out or the slot was released). */
  async owners(sql: Sql): Promise<{ slot: number; owner: string | null }[]> {
    const rows: { slot: number; owner: string | null }[] = await sql.query(
      `SELECT slot, CASE WHEN owner IS NOT NULL AND lease_expires_at > now() THEN owner END AS owner
         FROM outbox_relay_slots ORDER BY slot`,
    );
    return rows;
  }
}

function lease(r: { slot: number; lease_expires_at: Date }): SlotLease {
  return { slot: r.slot, leaseExpiresAt: r.lease_expires_at };
}
